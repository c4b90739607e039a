-- Catalog: languages, tags, and discovery of published courses by tag, language, difficulty and text.

-- name: CreateLanguage :one
-- A new language; its code and (case-insensitive) name are unique.
INSERT INTO languages (code, name)
VALUES (sqlc.arg(code), sqlc.arg(name))
RETURNING *;

-- name: GetLanguageByCode :one
-- The language with this BCP 47 code (as stored: learnstore canonicalizes the case).
SELECT * FROM languages WHERE code = sqlc.arg(code);

-- name: ListLanguages :many
-- Every language, by name.
SELECT * FROM languages ORDER BY lower(name), id;

-- name: GetOrCreateTag :one
-- The tag with this name whatever its case, created when there is none. Returns no row only when
-- a concurrent transaction created it after this statement's snapshot: run it again.
-- returns: Tag
WITH created AS (
    INSERT INTO tags (name) VALUES (sqlc.arg(name))
    ON CONFLICT ((lower(name))) DO NOTHING
    RETURNING *
)
SELECT * FROM created
UNION ALL
SELECT * FROM tags WHERE lower(name) = lower(sqlc.arg(name));

-- name: ListTags :many
-- Tags by name; with a prefix, only those whose name starts with it (whatever its case).
SELECT * FROM tags
WHERE sqlc.narg(prefix)::text IS NULL OR starts_with(lower(name), lower(sqlc.narg(prefix)))
ORDER BY lower(name), id
LIMIT sqlc.arg(page_size);

-- name: AttachCourseTags :one
-- Files a course under tags given by name (case-insensitive), creating the tags that do not exist,
-- in one statement; tags already attached stay as they are. Returns whether the course exists and
-- its tags afterwards (a JSON array of tag rows, by name); nothing changes for an unknown course.
-- complete is false when a tag created concurrently, after this statement's snapshot, could be
-- neither created nor seen (so not attached): running the statement again attaches it.
WITH course AS (
    SELECT c.id FROM courses c WHERE c.id = sqlc.arg(course_id) FOR KEY SHARE
), wanted AS (
    SELECT DISTINCT ON (lower(n)) n AS name
    FROM unnest(sqlc.arg(names)::text[]) AS n
    WHERE EXISTS (SELECT FROM course)
    ORDER BY lower(n), n
), created AS (
    INSERT INTO tags (name) SELECT name FROM wanted
    ON CONFLICT ((lower(name))) DO NOTHING
    RETURNING *
), named AS (
    SELECT * FROM created
    UNION ALL
    SELECT t.* FROM tags t JOIN wanted w ON lower(t.name) = lower(w.name)
), attached AS (
    INSERT INTO course_tags (course_id, tag_id)
    SELECT course.id, named.id FROM course CROSS JOIN named
    ON CONFLICT (course_id, tag_id) DO NOTHING
), current_tags AS (
    SELECT * FROM named
    UNION
    SELECT t.* FROM tags t JOIN course_tags ct ON ct.tag_id = t.id
    WHERE ct.course_id = sqlc.arg(course_id)
)
SELECT EXISTS (SELECT FROM course) AS course_found,
       (SELECT count(*) FROM named) = (SELECT count(*) FROM wanted) AS complete,
       coalesce((SELECT jsonb_agg(to_jsonb(c) ORDER BY lower(c.name), c.id) FROM current_tags c),
                '[]'::jsonb) AS tags;

-- name: DetachCourseTags :one
-- Takes tags (by name, case-insensitive) off a course; names it does not have are ignored. Returns
-- whether the course exists and its tags afterwards (a JSON array of tag rows, by name).
WITH removed AS (
    DELETE FROM course_tags ct USING tags t
    WHERE ct.course_id = sqlc.arg(course_id) AND t.id = ct.tag_id
      AND lower(t.name) IN (SELECT lower(n) FROM unnest(sqlc.arg(names)::text[]) AS n)
    RETURNING ct.tag_id
)
SELECT EXISTS (SELECT FROM courses c WHERE c.id = sqlc.arg(course_id)) AS course_found,
       coalesce((SELECT jsonb_agg(to_jsonb(t) ORDER BY lower(t.name), t.id)
                 FROM tags t JOIN course_tags ct ON ct.tag_id = t.id
                 WHERE ct.course_id = sqlc.arg(course_id)
                   AND ct.tag_id NOT IN (SELECT r.tag_id FROM removed r)), '[]'::jsonb) AS tags;

-- name: ListCourseTags :one
-- Whether the course exists, and its tags (a JSON array of tag rows, by name).
SELECT EXISTS (SELECT FROM courses c WHERE c.id = sqlc.arg(course_id)) AS course_found,
       coalesce((SELECT jsonb_agg(to_jsonb(t) ORDER BY lower(t.name), t.id)
                 FROM tags t JOIN course_tags ct ON ct.tag_id = t.id
                 WHERE ct.course_id = sqlc.arg(course_id)), '[]'::jsonb) AS tags;

-- name: SearchPublishedCourses :many
-- One page of published courses matching every filter given (a NULL filter, or no tags, matches
-- all; tags match by name whatever the case, every one of them or, without match_all_tags, any),
-- in sort_by order: 'rating' (the Bayesian course_rating_score, rating count, published_at, id) or
-- 'relevance' (ts_rank of text_query, published_at, id), all descending; newest first is
-- SearchPublishedCoursesNewest. Keyset pagination: pass the sort key of the last row of a page as
-- after_* (after_id NULL for the first page). The text filter is written exactly as
-- courses_search_idx's expression so that the index serves it; ratings are computed only when
-- sorting by them, and for the page. Both orders sort every matching course, whatever the plan.
-- The statement is prepared like any other: its generic plan stays good for every mix of filters
-- (docs/catalog.md, "How the query is served"), so no call pays for planning it.
-- into: caller
WITH matching AS (
    SELECT c.id, c.title, c.description, c.difficulty, l.code AS language_code, c.published_at,
           CASE WHEN sqlc.narg(text_query)::text IS NULL THEN 0::numeric
                ELSE ts_rank(setweight(to_tsvector('simple'::regconfig, c.title), 'A')
                             || setweight(to_tsvector('simple'::regconfig, c.description), 'B'),
                             websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text))::numeric
           END AS relevance,
           r.rating_score AS sort_rating,
           r.rating_count AS sort_count
    FROM courses c
    LEFT JOIN languages l ON l.id = c.language_id
    -- Folds to an empty, free aggregate unless the page is sorted by rating.
    CROSS JOIN LATERAL (
        SELECT course_rating_score(sum(f.rating), count(*)) AS rating_score, count(*) AS rating_count
        FROM course_feedback f
        WHERE f.course_id = c.id AND sqlc.arg(sort_by)::text = 'rating'
          AND learnstore_visible(f.hidden_at, f.user_clerk_id)
    ) r
    WHERE c.status = 'published'
      AND (sqlc.narg(language_code)::text IS NULL OR l.code = sqlc.narg(language_code)::text)
      AND (sqlc.narg(difficulty)::text IS NULL OR c.difficulty = sqlc.narg(difficulty)::text)
      -- The text match as a set of ids, not a condition on each course: a generic plan (which
      -- cannot fold the IS NULL) then finds them once through courses_search_idx and checks each
      -- course against a hash, where "IS NULL OR to_tsvector(...) @@ ..." ran to_tsvector over
      -- every published course (35 ms at the large benchmark scale). A custom plan folds it as before.
      AND (sqlc.narg(text_query)::text IS NULL OR c.id IN (
              SELECT s.id
              FROM courses s
              WHERE to_tsvector('simple'::regconfig, s.title || ' ' || s.description)
                    @@ websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text)))
      AND (cardinality(sqlc.arg(tags)::text[]) = 0 OR c.id IN (
              SELECT ct.course_id
              FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
              WHERE lower(t.name) IN (SELECT lower(n) FROM unnest(sqlc.arg(tags)::text[]) AS n)
              GROUP BY ct.course_id
              HAVING count(*) >= CASE WHEN sqlc.arg(match_all_tags)::boolean
                                      THEN (SELECT count(DISTINCT lower(n))
                                            FROM unnest(sqlc.arg(tags)::text[]) AS n)
                                      ELSE 1 END))
), keyed AS (
    SELECT m.id, m.title, m.description, m.difficulty, m.language_code, m.published_at, m.relevance,
           CASE sqlc.arg(sort_by)::text
               WHEN 'rating' THEN m.sort_rating
               WHEN 'relevance' THEN m.relevance
               ELSE 0::numeric
           END AS sort_score,
           CASE sqlc.arg(sort_by)::text WHEN 'rating' THEN m.sort_count ELSE 0::bigint END AS sort_count
    FROM matching m
), page AS (
    SELECT k.* FROM keyed k
    WHERE sqlc.narg(after_id)::uuid IS NULL
       OR (k.sort_score, k.sort_count, k.published_at, k.id)
          < (sqlc.narg(after_score)::numeric, sqlc.narg(after_count)::bigint,
             sqlc.narg(after_published_at)::timestamptz, sqlc.narg(after_id)::uuid)
    ORDER BY k.sort_score DESC, k.sort_count DESC, k.published_at DESC, k.id DESC
    LIMIT sqlc.arg(page_size)
)
SELECT p.id, p.title, p.description, p.difficulty, p.language_code, p.published_at,
       r.average_rating, r.rating_count, r.rating_score, p.relevance,
       array(SELECT t.name FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.course_id = p.id ORDER BY lower(t.name), t.id)::text[] AS tags
FROM page p
CROSS JOIN LATERAL (
    SELECT round(avg(f.rating), 2) AS average_rating, count(*) AS rating_count,
           course_rating_score(sum(f.rating), count(*)) AS rating_score
    FROM course_feedback f WHERE f.course_id = p.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
) r
ORDER BY p.sort_score DESC, p.sort_count DESC, p.published_at DESC, p.id DESC;

-- name: SearchPublishedCoursesNewest :many
-- SearchPublishedCourses' page newest first (published_at, id, descending), with the same filters
-- and columns (relevance: the page's ts_rank of text_query, 0 without one). Keyset: the last row's
-- published_at and id as after_* (NULL for the first page). Every plan, the generic one a prepared
-- statement switches to included, walks courses_published_idx from the cursor and stops at the
-- page's end: the optional filters are written to be estimated as what they are (coalesce, CASE),
-- where `$1 IS NULL OR ...` made the generic plan sort every published course (3.2 ms against 0.7 at
-- the large scale; docs/catalog.md).
-- into: caller
WITH wanted AS MATERIALIZED (
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text) AS q,
           (SELECT l.id FROM languages l WHERE l.code = sqlc.narg(language_code)::text) AS language_id
), page AS (
    SELECT c.id, c.title, c.description, c.difficulty, c.language_id, c.published_at
    FROM courses c
    WHERE c.status = 'published'
      AND coalesce(c.language_id = (SELECT language_id FROM wanted), sqlc.narg(language_code)::text IS NULL)
      AND coalesce(c.difficulty = sqlc.narg(difficulty)::text, sqlc.narg(difficulty)::text IS NULL)
      AND CASE WHEN sqlc.narg(text_query)::text IS NULL THEN true
               ELSE c.id IN (SELECT s.id FROM courses s
                             WHERE to_tsvector('simple'::regconfig, s.title || ' ' || s.description)
                                   @@ (SELECT q FROM wanted)) END
      AND CASE WHEN cardinality(sqlc.arg(tags)::text[]) = 0 THEN true
               ELSE c.id IN (
                   SELECT ct.course_id
                   FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
                   WHERE lower(t.name) IN (SELECT lower(n) FROM unnest(sqlc.arg(tags)::text[]) AS n)
                   GROUP BY ct.course_id
                   HAVING count(*) >= CASE WHEN sqlc.arg(match_all_tags)::boolean
                                           THEN (SELECT count(DISTINCT lower(n)) FROM unnest(sqlc.arg(tags)::text[]) AS n)
                                           ELSE 1 END) END
      AND (c.published_at, c.id) < (coalesce(sqlc.narg(after_published_at)::timestamptz, 'infinity'),
                                    coalesce(sqlc.narg(after_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
    ORDER BY c.published_at DESC, c.id DESC
    LIMIT sqlc.arg(page_size)
)
SELECT p.id, p.title, p.description, p.difficulty, l.code AS language_code, p.published_at,
       r.average_rating, r.rating_count, r.rating_score,
       CASE WHEN sqlc.narg(text_query)::text IS NULL THEN 0::numeric
            ELSE ts_rank(setweight(to_tsvector('simple'::regconfig, p.title), 'A')
                         || setweight(to_tsvector('simple'::regconfig, p.description), 'B'),
                         (SELECT q FROM wanted))::numeric
       END AS relevance,
       array(SELECT t.name FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.course_id = p.id ORDER BY lower(t.name), t.id)::text[] AS tags
FROM page p
LEFT JOIN languages l ON l.id = p.language_id
CROSS JOIN LATERAL (
    SELECT round(avg(f.rating), 2) AS average_rating, count(*) AS rating_count,
           course_rating_score(sum(f.rating), count(*)) AS rating_score
    FROM course_feedback f WHERE f.course_id = p.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
) r
ORDER BY p.published_at DESC, p.id DESC;

-- name: GetCourseRatingSummary :one
-- A course's ratings (any status; hidden reviews left out: learnstore_visible): the average
-- (2 decimals, NULL when unrated), the count, and how many of each star 1-5. No row for an
-- unknown course.
SELECT c.id AS course_id,
       round(avg(f.rating), 2) AS average_rating,
       count(f.rating) AS rating_count,
       count(*) FILTER (WHERE f.rating = 1) AS one_star,
       count(*) FILTER (WHERE f.rating = 2) AS two_stars,
       count(*) FILTER (WHERE f.rating = 3) AS three_stars,
       count(*) FILTER (WHERE f.rating = 4) AS four_stars,
       count(*) FILTER (WHERE f.rating = 5) AS five_stars
FROM courses c
LEFT JOIN course_feedback f ON f.course_id = c.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
WHERE c.id = sqlc.arg(course_id)
GROUP BY c.id;
