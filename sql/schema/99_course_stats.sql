-- ---- a course's audience, summarised ---------------------------------------------------------------
-- What a course card, the course page, the roster's total and course analytics read instead of
-- counting the course's enrolments and ratings on every read (docs/scaling.md, "What grows"):
-- enrolments, completions, the sum of progress, and the per-star counts of visible and hidden
-- ratings. Kept by the statement triggers below, in the writer's transaction, on every path that
-- writes user_courses or course_feedback (COPY included: statement triggers with transition
-- tables fire on it); checked and repaired by `learnstore check` (course_stats in derived.py).
--
-- Sharded: a course's summary is up to 16 rows, one per shard of its learners (course_stats_shard
-- of the learner's clerk id), and a read sums them. Every enrolment, progress change and rating of
-- a course otherwise updates one row and holds it until commit: 16 learners of a popular course
-- would queue on it (docs/pages.md measures it). A learner's rows of a course all fall in one
-- shard, so each shard counts exactly its learners' rows and a repair recounts each shard.
-- The counts carry no non-negative CHECK: they are sums of deltas, and a row a trigger made
-- before the backfill (migrations/0028_course_stats_backfill.sql) recounted it holds only the
-- deltas since, which an unenrolment may take below zero until the backfill reaches its course.
CREATE TABLE course_stats (
    id             uuid        NOT NULL DEFAULT uuidv7(),
    course_id      uuid        NOT NULL,
    shard          smallint    NOT NULL,
    enrolments     integer      NOT NULL DEFAULT 0,
    completions    integer      NOT NULL DEFAULT 0,
    progress_sum   bigint      NOT NULL DEFAULT 0,
    stars_1        integer      NOT NULL DEFAULT 0,
    stars_2        integer      NOT NULL DEFAULT 0,
    stars_3        integer      NOT NULL DEFAULT 0,
    stars_4        integer      NOT NULL DEFAULT 0,
    stars_5        integer      NOT NULL DEFAULT 0,
    hidden_stars_1 integer      NOT NULL DEFAULT 0,
    hidden_stars_2 integer      NOT NULL DEFAULT 0,
    hidden_stars_3 integer      NOT NULL DEFAULT 0,
    hidden_stars_4 integer      NOT NULL DEFAULT 0,
    hidden_stars_5 integer      NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_stats_pkey PRIMARY KEY (id),
    CONSTRAINT course_stats_course_shard_key UNIQUE (course_id, shard),
    CONSTRAINT course_stats_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT course_stats_shard_range CHECK (shard BETWEEN 0 AND 15)
);
COMMENT ON TABLE course_stats IS
    'One of 16 shards of a course''s summary (enrolments, progress, ratings): the course''s are their sums.';
COMMENT ON COLUMN course_stats.shard IS 'course_stats_shard of the learners it counts: each learner''s rows fall in one shard.';
COMMENT ON COLUMN course_stats.progress_sum IS 'The sum of the enrolments'' progress (0-100 each): the mean is it over enrolments.';
COMMENT ON COLUMN course_stats.stars_1 IS 'Visible (not hidden) ratings of 1 star; stars_2 to stars_5 likewise.';
COMMENT ON COLUMN course_stats.hidden_stars_1 IS 'Ratings of 1 star a moderator hid (seen by their authors and moderators); likewise to 5.';
CREATE TRIGGER course_stats_set_updated_at BEFORE UPDATE ON course_stats
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The shard of a learner's rows: 16 shards by a hash of the clerk id (an erased reviewer's NULL
-- takes the empty string's). `& 15`, not abs() % 16: hashtext may return the smallest integer.
CREATE FUNCTION course_stats_shard(p_user_clerk_id text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
    RETURN (pg_catalog.hashtext(coalesce(p_user_clerk_id, '')) OPERATOR(pg_catalog.&) 15)::smallint;
COMMENT ON FUNCTION course_stats_shard(text) IS 'The course_stats shard (0-15) of a learner''s rows.';
REVOKE EXECUTE ON FUNCTION course_stats_shard(text) FROM PUBLIC;

-- Adds each (course, shard)'s deltas ({course_id, shard, enrolments, ...}, a missing key is 0), in
-- (course, shard) order: two statements that touch several rows cannot deadlock, and additions
-- commute, so concurrent writers lose none. p_create: a row missing is made with the deltas
-- (inserts and updates: their courses exist); a deletion only updates the rows there (a course
-- being deleted is no longer there to own a new row, and its rows go with it).
CREATE FUNCTION course_stats_add(p_deltas jsonb, p_create boolean) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF p_create THEN
        INSERT INTO course_stats AS s (course_id, shard, enrolments, completions, progress_sum,
                                       stars_1, stars_2, stars_3, stars_4, stars_5,
                                       hidden_stars_1, hidden_stars_2, hidden_stars_3, hidden_stars_4, hidden_stars_5)
        SELECT d.course_id, d.shard, coalesce(d.enrolments, 0), coalesce(d.completions, 0),
               coalesce(d.progress_sum, 0), coalesce(d.stars_1, 0), coalesce(d.stars_2, 0),
               coalesce(d.stars_3, 0), coalesce(d.stars_4, 0), coalesce(d.stars_5, 0),
               coalesce(d.hidden_stars_1, 0), coalesce(d.hidden_stars_2, 0), coalesce(d.hidden_stars_3, 0),
               coalesce(d.hidden_stars_4, 0), coalesce(d.hidden_stars_5, 0)
        FROM jsonb_to_recordset(p_deltas) AS d (
            course_id uuid, shard smallint, enrolments integer, completions integer, progress_sum bigint,
            stars_1 integer, stars_2 integer, stars_3 integer, stars_4 integer, stars_5 integer,
            hidden_stars_1 integer, hidden_stars_2 integer, hidden_stars_3 integer, hidden_stars_4 integer,
            hidden_stars_5 integer)
        ORDER BY d.course_id, d.shard
        ON CONFLICT (course_id, shard) DO UPDATE
            SET enrolments = s.enrolments + excluded.enrolments,
                completions = s.completions + excluded.completions,
                progress_sum = s.progress_sum + excluded.progress_sum,
                stars_1 = s.stars_1 + excluded.stars_1, stars_2 = s.stars_2 + excluded.stars_2,
                stars_3 = s.stars_3 + excluded.stars_3, stars_4 = s.stars_4 + excluded.stars_4,
                stars_5 = s.stars_5 + excluded.stars_5,
                hidden_stars_1 = s.hidden_stars_1 + excluded.hidden_stars_1,
                hidden_stars_2 = s.hidden_stars_2 + excluded.hidden_stars_2,
                hidden_stars_3 = s.hidden_stars_3 + excluded.hidden_stars_3,
                hidden_stars_4 = s.hidden_stars_4 + excluded.hidden_stars_4,
                hidden_stars_5 = s.hidden_stars_5 + excluded.hidden_stars_5;
        RETURN;
    END IF;
    PERFORM FROM course_stats s
    WHERE (s.course_id, s.shard) IN (SELECT d.course_id, d.shard
                                     FROM jsonb_to_recordset(p_deltas) AS d (course_id uuid, shard smallint))
    ORDER BY s.course_id, s.shard FOR NO KEY UPDATE;
    UPDATE course_stats s
    SET enrolments = s.enrolments + coalesce(d.enrolments, 0),
        completions = s.completions + coalesce(d.completions, 0),
        progress_sum = s.progress_sum + coalesce(d.progress_sum, 0),
        stars_1 = s.stars_1 + coalesce(d.stars_1, 0), stars_2 = s.stars_2 + coalesce(d.stars_2, 0),
        stars_3 = s.stars_3 + coalesce(d.stars_3, 0), stars_4 = s.stars_4 + coalesce(d.stars_4, 0),
        stars_5 = s.stars_5 + coalesce(d.stars_5, 0),
        hidden_stars_1 = s.hidden_stars_1 + coalesce(d.hidden_stars_1, 0),
        hidden_stars_2 = s.hidden_stars_2 + coalesce(d.hidden_stars_2, 0),
        hidden_stars_3 = s.hidden_stars_3 + coalesce(d.hidden_stars_3, 0),
        hidden_stars_4 = s.hidden_stars_4 + coalesce(d.hidden_stars_4, 0),
        hidden_stars_5 = s.hidden_stars_5 + coalesce(d.hidden_stars_5, 0)
    FROM jsonb_to_recordset(p_deltas) AS d (
        course_id uuid, shard smallint, enrolments integer, completions integer, progress_sum bigint,
        stars_1 integer, stars_2 integer, stars_3 integer, stars_4 integer, stars_5 integer,
        hidden_stars_1 integer, hidden_stars_2 integer, hidden_stars_3 integer, hidden_stars_4 integer,
        hidden_stars_5 integer)
    WHERE s.course_id = d.course_id AND s.shard = d.shard;
END
$$;
REVOKE EXECUTE ON FUNCTION course_stats_add(jsonb, boolean) FROM PUBLIC;

-- AFTER INSERT, UPDATE and DELETE on user_courses, per statement: each (course, shard)'s change in
-- enrolments, completions and the sum of progress, the new rows counted in and the old ones out, so
-- enrolling, a progress recompute, completing, unenrolling, an erasure's cascade and a COPY all fall
-- out; a statement that changes none of them (updated_at alone) writes nothing. SECURITY DEFINER:
-- the writer may not write the summary. One function for the three: a missing transition table is
-- the operation's (TG_OP) absence, read as empty.
CREATE FUNCTION user_courses_count_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(d) INTO v_deltas
        FROM (SELECT n.course_id, course_stats_shard(n.user_clerk_id) AS shard, count(*) AS enrolments,
                     count(n.completed_at) AS completions, sum(n.progress) AS progress_sum
              FROM new_rows n GROUP BY 1, 2) AS d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(d) INTO v_deltas
        FROM (SELECT o.course_id, course_stats_shard(o.user_clerk_id) AS shard, -count(*) AS enrolments,
                     -count(o.completed_at) AS completions, -sum(o.progress) AS progress_sum
              FROM old_rows o GROUP BY 1, 2) AS d;
    ELSE
        SELECT jsonb_agg(d) INTO v_deltas
        FROM (SELECT x.course_id, course_stats_shard(x.user_clerk_id) AS shard, sum(x.sign) AS enrolments,
                     coalesce(sum(x.sign) FILTER (WHERE x.completed_at IS NOT NULL), 0) AS completions,
                     sum(x.sign * x.progress) AS progress_sum
              FROM (SELECT n.course_id, n.user_clerk_id, n.completed_at, n.progress, 1 AS sign FROM new_rows n
                    UNION ALL
                    SELECT o.course_id, o.user_clerk_id, o.completed_at, o.progress, -1 FROM old_rows o) AS x
              GROUP BY 1, 2) AS d
        WHERE (d.enrolments, d.completions, d.progress_sum) <> (0, 0, 0);
    END IF;
    IF v_deltas IS NOT NULL THEN
        PERFORM course_stats_add(v_deltas, TG_OP <> 'DELETE');
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_courses_count_stats() FROM PUBLIC;
CREATE TRIGGER user_courses_count_stats_inserted AFTER INSERT ON user_courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_count_stats();
CREATE TRIGGER user_courses_count_stats_updated AFTER UPDATE ON user_courses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_count_stats();
CREATE TRIGGER user_courses_count_stats_deleted AFTER DELETE ON user_courses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_count_stats();

-- The same for course_feedback: each (course, shard)'s change in per-star counts, visible and
-- hidden apart, so rating, re-rating, deleting a rating, a moderator hiding or unhiding it and an
-- erasure (its reviewer set to NULL: a move to the NULL's shard) all fall out; an edit of the
-- comment alone writes nothing.
CREATE FUNCTION course_feedback_count_stats() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    -- the operation's transition tables only (the others are not there to name): dynamic SQL,
    -- planned per statement, which a single rating's statement can afford
    EXECUTE format($q$
        WITH x AS (%s)
        SELECT jsonb_agg(d)
        FROM (SELECT x.course_id, course_stats_shard(x.user_clerk_id) AS shard,
                     coalesce(sum(x.sign) FILTER (WHERE NOT x.hidden AND x.rating = 1), 0) AS stars_1,
                     coalesce(sum(x.sign) FILTER (WHERE NOT x.hidden AND x.rating = 2), 0) AS stars_2,
                     coalesce(sum(x.sign) FILTER (WHERE NOT x.hidden AND x.rating = 3), 0) AS stars_3,
                     coalesce(sum(x.sign) FILTER (WHERE NOT x.hidden AND x.rating = 4), 0) AS stars_4,
                     coalesce(sum(x.sign) FILTER (WHERE NOT x.hidden AND x.rating = 5), 0) AS stars_5,
                     coalesce(sum(x.sign) FILTER (WHERE x.hidden AND x.rating = 1), 0) AS hidden_stars_1,
                     coalesce(sum(x.sign) FILTER (WHERE x.hidden AND x.rating = 2), 0) AS hidden_stars_2,
                     coalesce(sum(x.sign) FILTER (WHERE x.hidden AND x.rating = 3), 0) AS hidden_stars_3,
                     coalesce(sum(x.sign) FILTER (WHERE x.hidden AND x.rating = 4), 0) AS hidden_stars_4,
                     coalesce(sum(x.sign) FILTER (WHERE x.hidden AND x.rating = 5), 0) AS hidden_stars_5
              FROM x GROUP BY 1, 2) AS d
        WHERE (d.stars_1, d.stars_2, d.stars_3, d.stars_4, d.stars_5, d.hidden_stars_1, d.hidden_stars_2,
               d.hidden_stars_3, d.hidden_stars_4, d.hidden_stars_5) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        $q$,
        concat_ws(' UNION ALL ',
            CASE WHEN TG_OP <> 'DELETE' THEN
                'SELECT n.course_id, n.user_clerk_id, n.rating, n.hidden_at IS NOT NULL AS hidden, 1 AS sign'
                ' FROM new_rows n' END,
            CASE WHEN TG_OP <> 'INSERT' THEN
                'SELECT o.course_id, o.user_clerk_id, o.rating, o.hidden_at IS NOT NULL AS hidden, -1 AS sign'
                ' FROM old_rows o' END))
    INTO v_deltas;
    IF v_deltas IS NOT NULL THEN
        PERFORM course_stats_add(v_deltas, TG_OP <> 'DELETE');
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION course_feedback_count_stats() FROM PUBLIC;
CREATE TRIGGER course_feedback_count_stats_inserted AFTER INSERT ON course_feedback
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_feedback_count_stats();
CREATE TRIGGER course_feedback_count_stats_updated AFTER UPDATE ON course_feedback
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_feedback_count_stats();
CREATE TRIGGER course_feedback_count_stats_deleted AFTER DELETE ON course_feedback
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_feedback_count_stats();

-- Recounts the summaries of p_courses from their base rows, exactly, while writers run (the
-- backfill of migration 0028 and `learnstore check --repair`). Three statements, each with its own
-- snapshot (READ COMMITTED): the rows of every (course, shard) the base rows have are made if
-- missing; every row of the courses is locked, in order, so a writer whose delta is in a row has
-- committed and a later one waits; then those rows, and only those (a row made since holds the
-- deltas of every write to its shard), are set from a snapshot that holds every committed write.
CREATE FUNCTION course_stats_recount(p_courses uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_rows uuid[];
BEGIN
    INSERT INTO course_stats (course_id, shard)
    SELECT DISTINCT k.course_id, k.shard
    FROM (SELECT uc.course_id, course_stats_shard(uc.user_clerk_id) AS shard
          FROM user_courses uc WHERE uc.course_id = ANY (p_courses)
          UNION ALL
          SELECT f.course_id, course_stats_shard(f.user_clerk_id)
          FROM course_feedback f WHERE f.course_id = ANY (p_courses)) AS k
    JOIN courses c ON c.id = k.course_id
    ORDER BY 1, 2
    ON CONFLICT (course_id, shard) DO NOTHING;
    SELECT array_agg(l.id) INTO v_rows
    FROM (SELECT s.id FROM course_stats s WHERE s.course_id = ANY (p_courses)
          ORDER BY s.course_id, s.shard FOR NO KEY UPDATE) AS l;
    UPDATE course_stats s
    SET enrolments = coalesce(e.enrolments, 0), completions = coalesce(e.completions, 0),
        progress_sum = coalesce(e.progress_sum, 0),
        stars_1 = coalesce(r.stars_1, 0), stars_2 = coalesce(r.stars_2, 0), stars_3 = coalesce(r.stars_3, 0),
        stars_4 = coalesce(r.stars_4, 0), stars_5 = coalesce(r.stars_5, 0),
        hidden_stars_1 = coalesce(r.hidden_stars_1, 0), hidden_stars_2 = coalesce(r.hidden_stars_2, 0),
        hidden_stars_3 = coalesce(r.hidden_stars_3, 0), hidden_stars_4 = coalesce(r.hidden_stars_4, 0),
        hidden_stars_5 = coalesce(r.hidden_stars_5, 0)
    FROM course_stats k
    LEFT JOIN (SELECT uc.course_id, course_stats_shard(uc.user_clerk_id) AS shard, count(*) AS enrolments,
                      count(uc.completed_at) AS completions, sum(uc.progress) AS progress_sum
               FROM user_courses uc WHERE uc.course_id = ANY (p_courses) GROUP BY 1, 2) AS e
        ON e.course_id = k.course_id AND e.shard = k.shard
    LEFT JOIN (SELECT f.course_id, course_stats_shard(f.user_clerk_id) AS shard,
                      count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 1) AS stars_1,
                      count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 2) AS stars_2,
                      count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 3) AS stars_3,
                      count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 4) AS stars_4,
                      count(*) FILTER (WHERE f.hidden_at IS NULL AND f.rating = 5) AS stars_5,
                      count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 1) AS hidden_stars_1,
                      count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 2) AS hidden_stars_2,
                      count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 3) AS hidden_stars_3,
                      count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 4) AS hidden_stars_4,
                      count(*) FILTER (WHERE f.hidden_at IS NOT NULL AND f.rating = 5) AS hidden_stars_5
               FROM course_feedback f WHERE f.course_id = ANY (p_courses) GROUP BY 1, 2) AS r
        ON r.course_id = k.course_id AND r.shard = k.shard
    WHERE k.id = ANY (v_rows) AND s.id = k.id;
END
$$;
COMMENT ON FUNCTION course_stats_recount(uuid[]) IS
    'Recounts the course_stats rows of the given courses from their enrolments and ratings, exactly, under concurrent writes.';
REVOKE EXECUTE ON FUNCTION course_stats_recount(uuid[]) FROM PUBLIC;

-- Under as_user, a course's author and accepted collaborators read its summary (the roster's
-- total); a card's counts reach everyone through course_card_facts, which runs with its owner's
-- rights and shows no completion or progress. Nobody writes it: the triggers above do, and its
-- rows go with their course.
GRANT SELECT ON course_stats TO learnstore_app;
ALTER TABLE course_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_stats_team_select ON course_stats FOR SELECT
    USING (course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}')));

-- course_card_facts is the one definition of a course card (sql/queries/pages.sql joins it by id,
-- so only the cards of a page are computed). It is a plain view, not security_invoker: it runs
-- with its owner's rights, so under as_user() an enrolment count still counts every learner's
-- enrolment (private rows the caller cannot see) while exposing only the count. It exposes every
-- course whatever its status: each query says which courses the caller may see (published, or
-- their own). The counts are course_stats' sums (up to 16 rows by course_stats_course_shard_key,
-- whatever the course's audience). A review hidden by a moderator counts toward the rating only for
-- its author and for moderators (learnstore_visible, the one predicate every read of reviews
-- applies): moderators and admins add the hidden counts, an author their own hidden review (one
-- probe of course_feedback_course_user_key), each only for a course with hidden ratings.
-- rating_histogram: how many ratings gave 1 to 5 stars.
CREATE VIEW course_card_facts AS
SELECT c.id AS course_id,
       c.title,
       c.description,
       c.difficulty,
       c.status,
       c.published_at,
       c.created_at,
       c.cover_image_url,
       c.estimated_duration_minutes,
       l.code AS language_code,
       c.author_clerk_id,
       CASE WHEN c.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', a.first_name, a.last_name)), ''), c.author_clerk_id)
       END AS author_name,
       a.avatar_url AS author_avatar_url,
       o.lesson_count,
       o.lessons_duration_seconds,
       s.enrolments::integer AS enrolment_count,
       round((h.stars[1] + 2 * h.stars[2] + 3 * h.stars[3] + 4 * h.stars[4] + 5 * h.stars[5])::numeric
             / nullif(h.stars[1] + h.stars[2] + h.stars[3] + h.stars[4] + h.stars[5], 0)::numeric, 2) AS rating_mean,
       (h.stars[1] + h.stars[2] + h.stars[3] + h.stars[4] + h.stars[5])::integer AS rating_count,
       array(SELECT t.name FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.course_id = c.id ORDER BY lower(t.name), t.id)::text[] AS tags,
       h.stars::integer[] AS rating_histogram
FROM courses c
LEFT JOIN users a ON a.clerk_id = c.author_clerk_id
LEFT JOIN languages l ON l.id = c.language_id
CROSS JOIN LATERAL (
    SELECT count(*)::integer AS lesson_count, coalesce(sum(ls.duration_seconds), 0)::integer AS lessons_duration_seconds
    FROM units u JOIN lessons ls ON ls.unit_id = u.id
    WHERE u.course_id = c.id
) o
CROSS JOIN LATERAL (
    SELECT coalesce(sum(cs.enrolments), 0) AS enrolments,
           coalesce(sum(cs.stars_1), 0) AS v1, coalesce(sum(cs.stars_2), 0) AS v2, coalesce(sum(cs.stars_3), 0) AS v3,
           coalesce(sum(cs.stars_4), 0) AS v4, coalesce(sum(cs.stars_5), 0) AS v5,
           coalesce(sum(cs.hidden_stars_1), 0) AS h1, coalesce(sum(cs.hidden_stars_2), 0) AS h2,
           coalesce(sum(cs.hidden_stars_3), 0) AS h3, coalesce(sum(cs.hidden_stars_4), 0) AS h4,
           coalesce(sum(cs.hidden_stars_5), 0) AS h5
    FROM course_stats cs WHERE cs.course_id = c.id
) s
-- The hidden ratings the acting user sees, looked for only where the course has any: every one for
-- a moderator or admin (learnstore_has_site_role's question, asked inline: the function, a
-- SECURITY DEFINER, costs a call per card), else their own.
LEFT JOIN LATERAL (
    SELECT CASE WHEN EXISTS (SELECT FROM site_roles r
                             WHERE r.user_clerk_id = learnstore_actor() AND r.role IN ('moderator', 'admin'))
                THEN array[s.h1, s.h2, s.h3, s.h4, s.h5]
                ELSE (SELECT array[(f.rating = 1)::integer, (f.rating = 2)::integer, (f.rating = 3)::integer,
                                   (f.rating = 4)::integer, (f.rating = 5)::integer]
                      FROM course_feedback f
                      WHERE f.course_id = c.id AND f.user_clerk_id = learnstore_actor() AND f.hidden_at IS NOT NULL)
           END AS stars
    WHERE s.h1 + s.h2 + s.h3 + s.h4 + s.h5 <> 0
    -- OFFSET 0 (here and below): computed once per card; pulled up, each use of a star count
    -- would repeat the expression (and its sub-selects) that makes it
    OFFSET 0
) hv ON true
CROSS JOIN LATERAL (
    SELECT array[s.v1 + coalesce(hv.stars[1], 0), s.v2 + coalesce(hv.stars[2], 0), s.v3 + coalesce(hv.stars[3], 0),
                 s.v4 + coalesce(hv.stars[4], 0), s.v5 + coalesce(hv.stars[5], 0)] AS stars
    OFFSET 0
) h;
COMMENT ON VIEW course_card_facts IS
    'One row per course: what a course card shows, its counts read from course_stats (every learner''s).';
GRANT SELECT ON course_card_facts TO learnstore_app;
