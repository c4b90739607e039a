-- ---- a review's upvotes, counted ------------------------------------------------------------------
-- What the course page's top reviews and a user's belongings read instead of counting every review's
-- upvotes on every read (docs/scaling.md, "What grows"): one row per review with its upvotes, and an
-- index that lists a course's reviews most upvoted first, then newest, then by id, so the page walks
-- the index and stops after its top reviews. Kept by the statement triggers below, in the writer's
-- transaction: a row made with each review, upvotes added and taken away with feedback_upvotes (an
-- erasure's cascade and a review's deletion included); checked and repaired by `learnstore check`
-- (feedback_upvote_counts in derived.py).
--
-- A table of its own, not a column of course_feedback: course_feedback's UPDATE statement trigger
-- (99_course_stats.sql) would then run for every upvote. The review's course and creation time are
-- copied (neither changes: learnstore_app may update only rating and comment) so that the index
-- alone orders a course's reviews. One row per review, unsharded: 16 upvoters of one review queue on
-- it for the few microseconds of the counter's update (docs/reviews.md measures it).
-- No non-negative CHECK on upvotes: a row a trigger made before the backfill
-- (migrations/0030_review_upvotes_backfill.sql) recounted it holds only the deltas since.
CREATE TABLE feedback_upvote_counts (
    id                  uuid        NOT NULL DEFAULT uuidv7(),
    feedback_id         uuid        NOT NULL,
    course_id           uuid        NOT NULL,
    feedback_created_at timestamptz NOT NULL,
    upvotes             integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_upvote_counts_pkey PRIMARY KEY (id),
    CONSTRAINT feedback_upvote_counts_feedback_key UNIQUE (feedback_id),
    CONSTRAINT feedback_upvote_counts_feedback_id_fkey FOREIGN KEY (feedback_id)
        REFERENCES course_feedback (id) ON DELETE CASCADE,
    CONSTRAINT feedback_upvote_counts_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE
);
COMMENT ON TABLE feedback_upvote_counts IS 'A review''s upvotes, counted, with its course and creation time for ranking.';
COMMENT ON COLUMN feedback_upvote_counts.feedback_created_at IS 'The review''s created_at, copied: the newest first among equal upvotes.';
-- The course page's top reviews, in order (the index's leading column also serves the course's FK).
CREATE INDEX feedback_upvote_counts_course_top_idx
    ON feedback_upvote_counts (course_id, upvotes DESC, feedback_created_at DESC, feedback_id);
CREATE TRIGGER feedback_upvote_counts_set_updated_at BEFORE UPDATE ON feedback_upvote_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- AFTER INSERT on course_feedback, per statement (COPY included): each new review's row, at 0
-- upvotes, so that the index ranks it among the course's reviews. A re-review (ON CONFLICT DO
-- UPDATE) is an update and has its row already. SECURITY DEFINER: the reviewer may not write it.
CREATE FUNCTION course_feedback_make_upvote_counts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO feedback_upvote_counts (feedback_id, course_id, feedback_created_at)
    SELECT n.id, n.course_id, n.created_at FROM new_rows n ORDER BY n.id
    ON CONFLICT (feedback_id) DO NOTHING;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION course_feedback_make_upvote_counts() FROM PUBLIC;
CREATE TRIGGER course_feedback_make_upvote_counts AFTER INSERT ON course_feedback
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_feedback_make_upvote_counts();

-- AFTER INSERT and DELETE on feedback_upvotes, per statement: each review's change in upvotes, added
-- in feedback_id order, so two statements that touch several reviews (two erasures) cannot deadlock;
-- additions commute, so concurrent upvoters lose none. An insert makes a missing row (its review
-- exists: the foreign key); a deletion only updates the rows there (a review being deleted takes its
-- row with it).
CREATE FUNCTION feedback_upvotes_count() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO feedback_upvote_counts AS k (feedback_id, course_id, feedback_created_at, upvotes)
        SELECT f.id, f.course_id, f.created_at, d.upvotes
        FROM (SELECT n.feedback_id, count(*)::integer AS upvotes FROM new_rows n GROUP BY 1) AS d
        JOIN course_feedback f ON f.id = d.feedback_id
        ORDER BY f.id
        ON CONFLICT (feedback_id) DO UPDATE SET upvotes = k.upvotes + excluded.upvotes;
    ELSE
        PERFORM FROM feedback_upvote_counts k
        WHERE k.feedback_id IN (SELECT o.feedback_id FROM old_rows o)
        ORDER BY k.feedback_id FOR NO KEY UPDATE;
        UPDATE feedback_upvote_counts k SET upvotes = k.upvotes - d.upvotes
        FROM (SELECT o.feedback_id, count(*)::integer AS upvotes FROM old_rows o GROUP BY 1) AS d
        WHERE k.feedback_id = d.feedback_id;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION feedback_upvotes_count() FROM PUBLIC;
CREATE TRIGGER feedback_upvotes_count_inserted AFTER INSERT ON feedback_upvotes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_upvotes_count();
CREATE TRIGGER feedback_upvotes_count_deleted AFTER DELETE ON feedback_upvotes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_upvotes_count();

-- Recounts the rows of the reviews p_feedback from feedback_upvotes, exactly, while upvoters run (the
-- backfill of migration 0030 and `learnstore check --repair`). Three statements, each with its own
-- snapshot (READ COMMITTED): the rows missing are made; the reviews' rows are locked, in order, so an
-- upvoter whose delta is in a row has committed and a later one waits; then they are set from a
-- snapshot that holds every committed upvote (and the review's course and creation time, copied).
CREATE FUNCTION feedback_upvote_counts_recount(p_feedback uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO feedback_upvote_counts (feedback_id, course_id, feedback_created_at)
    SELECT f.id, f.course_id, f.created_at FROM course_feedback f WHERE f.id = ANY (p_feedback)
    ORDER BY f.id
    ON CONFLICT (feedback_id) DO NOTHING;
    PERFORM FROM feedback_upvote_counts k WHERE k.feedback_id = ANY (p_feedback)
    ORDER BY k.feedback_id FOR NO KEY UPDATE;
    UPDATE feedback_upvote_counts k
    SET upvotes = (SELECT count(*) FROM feedback_upvotes v WHERE v.feedback_id = k.feedback_id),
        course_id = f.course_id, feedback_created_at = f.created_at
    FROM course_feedback f
    WHERE k.feedback_id = ANY (p_feedback) AND f.id = k.feedback_id
      AND (k.upvotes, k.course_id, k.feedback_created_at)
          IS DISTINCT FROM ((SELECT count(*) FROM feedback_upvotes v WHERE v.feedback_id = k.feedback_id)::integer,
                            f.course_id, f.created_at);
END
$$;
COMMENT ON FUNCTION feedback_upvote_counts_recount(uuid[]) IS
    'Recounts the feedback_upvote_counts rows of the given reviews from feedback_upvotes, exactly, under concurrent upvotes.';
REVOKE EXECUTE ON FUNCTION feedback_upvote_counts_recount(uuid[]) FROM PUBLIC;

-- Readable like the reviews and their upvotes (by anyone; a hidden review is filtered by the query
-- that joins it, learnstore_visible). Nobody writes it: the triggers above do, and a row goes with
-- its review.
GRANT SELECT ON feedback_upvote_counts TO learnstore_app;
ALTER TABLE feedback_upvote_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY feedback_upvote_counts_anyone_select ON feedback_upvote_counts FOR SELECT USING (true);
