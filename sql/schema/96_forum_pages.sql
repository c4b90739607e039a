-- Forum pages and following (issue 18 point 5, issue 19 point 3; migration 0021): full-text search
-- over posts and replies (its stored documents: 98_forum_search.sql), exact view counts without a
-- hot row, thread follows, and the notification types a user mutes. The indexes on existing tables are built concurrently by 0021_forum_pages_indexes.

-- Full-text search: each post's document (title weighted A, body B) and each reply's body, as
-- tsvectors; 'simple' as the catalog's search uses (the forum mixes its courses' languages). Stored
-- in search_document columns with their GIN indexes since migration 0025 (98_forum_search.sql).
CREATE FUNCTION forum_post_document(title text, body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN setweight(to_tsvector('simple'::regconfig, title), 'A') || setweight(to_tsvector('simple'::regconfig, body), 'B');
COMMENT ON FUNCTION forum_post_document(text, text) IS 'A post''s searchable document: its title (weight A) and body (weight B).';
-- The platform-wide feed (ListForumFeed): live posts newest first; search's newest matches.
CREATE INDEX forum_posts_live_created_idx ON forum_posts (created_at DESC, id DESC) INCLUDE (course_id, hidden_at, author_clerk_id)
    WHERE deleted_at IS NULL;

-- Views: exact counts without a hot row. A view adds 1 to one of 16 shard rows of its post (chosen
-- by the backend's pid), so 64 concurrent viewers of one post queue on 16 row locks, not one; the
-- count is the sum of at most 16 rows. Exact under any race: each view is one UPSERT that either
-- inserts its shard's row or increments it under the row lock (ON CONFLICT ... DO UPDATE).
CREATE TABLE forum_post_view_counts (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    post_id    uuid        NOT NULL,
    shard      smallint    NOT NULL,
    views      bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_post_view_counts_pkey PRIMARY KEY (id),
    CONSTRAINT forum_post_view_counts_post_shard_key UNIQUE (post_id, shard),
    CONSTRAINT forum_post_view_counts_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT forum_post_view_counts_shard_range CHECK (shard BETWEEN 0 AND 15),
    CONSTRAINT forum_post_view_counts_views_non_negative CHECK (views >= 0)
);
COMMENT ON TABLE forum_post_view_counts IS 'One of up to 16 counter shards of a post''s views: the post''s views are their sum.';
CREATE TRIGGER forum_post_view_counts_set_updated_at BEFORE UPDATE ON forum_post_view_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Records one view of a post the acting user may see and returns the post's views after it; NULL
-- for no such post. SECURITY DEFINER: under as_user() nobody writes the shards directly (a user
-- could otherwise set any count), only through this increment.
CREATE FUNCTION learnstore_record_post_view(p_post_id uuid) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM forum_posts p
                   WHERE p.id = p_post_id AND learnstore_visible(p.hidden_at, p.author_clerk_id)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO forum_post_view_counts AS v (post_id, shard, views)
    VALUES (p_post_id, (pg_backend_pid() % 16)::smallint, 1)
    ON CONFLICT (post_id, shard) DO UPDATE SET views = v.views + 1;
    RETURN (SELECT sum(v.views) FROM forum_post_view_counts v WHERE v.post_id = p_post_id);
END
$$;
COMMENT ON FUNCTION learnstore_record_post_view(uuid) IS 'Adds one view to a visible post''s counter shards and returns its views.';
REVOKE EXECUTE ON FUNCTION learnstore_record_post_view(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_record_post_view(uuid) TO learnstore_app;

-- Following a thread: its followers are told of each new reply. A post's author follows it and a
-- replier starts following (the triggers below); either may unfollow.
CREATE TABLE forum_thread_follows (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    post_id       uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_thread_follows_pkey PRIMARY KEY (id),
    CONSTRAINT forum_thread_follows_post_user_key UNIQUE (post_id, user_clerk_id),
    CONSTRAINT forum_thread_follows_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT forum_thread_follows_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE forum_thread_follows IS 'A user follows a thread, at most once: told of each new reply in it.';
CREATE INDEX forum_thread_follows_user_clerk_id_idx ON forum_thread_follows (user_clerk_id, created_at DESC, id DESC);
CREATE TRIGGER forum_thread_follows_set_updated_at BEFORE UPDATE ON forum_thread_follows
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Muting: a user's muted notification types are never written for them. System notices
-- (moderation, collaboration) cannot be muted.
CREATE TABLE notification_mutes (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    type          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_mutes_pkey PRIMARY KEY (id),
    CONSTRAINT notification_mutes_user_type_key UNIQUE (user_clerk_id, type),
    CONSTRAINT notification_mutes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT notification_mutes_type_valid CHECK (type IN ('reply', 'mention', 'like'))
);
COMMENT ON TABLE notification_mutes IS 'A notification type a user does not want: such notifications are not written for them.';
CREATE TRIGGER notification_mutes_set_updated_at BEFORE UPDATE ON notification_mutes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The mute is enforced where notifications are written, for every writer at once (the forum's
-- statements, the SECURITY DEFINER triggers of moderation, workflows and awards, the service's
-- notify): a muted row is dropped before it is inserted. SECURITY DEFINER: the writer is usually
-- not the recipient, and under as_user() may not read the recipient's mutes.
CREATE FUNCTION notifications_skip_muted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM notification_mutes m WHERE m.user_clerk_id = NEW.user_clerk_id AND m.type = NEW.type) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER notifications_skip_muted BEFORE INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_skip_muted();

-- A reply notifies each recipient once: 'reply' (a follower, the parent reply's author) or
-- 'mention', never both, by this key; writers insert with ON CONFLICT DO NOTHING.
CREATE UNIQUE INDEX notifications_reply_once_key ON notifications (source_id, user_clerk_id)
    WHERE source_type = 'forum_reply' AND type IN ('reply', 'mention');

-- A post's author follows it. As the owner: the follow is the author's own, on every path (imports too).
CREATE FUNCTION forum_posts_author_follows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.author_clerk_id IS NOT NULL THEN
        INSERT INTO forum_thread_follows (post_id, user_clerk_id) VALUES (NEW.id, NEW.author_clerk_id)
        ON CONFLICT (post_id, user_clerk_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER forum_posts_author_follows AFTER INSERT ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION forum_posts_author_follows();

-- A new reply: every follower of its thread but the replier is told ('reply'), once by
-- notifications_reply_once_key: a follower the reply's own statement already told as the parent
-- reply's author is skipped, and one it told of a mention has that notice turned into the reply's
-- (a follower hears 'reply', as the post's author always did), unless they muted replies. Then the
-- replier follows.
-- As the owner: the replier may not read the followers, nor write their notifications, under as_user().
-- Under concurrency each reply notifies the followers committed when its trigger runs (and its own
-- transaction's): a follower who joins at the same time may or may not hear of it, never twice.
CREATE FUNCTION forum_replies_notify_followers() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE notifications n SET type = 'reply', message = 'New reply in "' || left(p.title, 200) || '"'
    FROM forum_thread_follows f JOIN forum_posts p ON p.id = f.post_id
    WHERE n.source_id = NEW.id AND n.source_type = 'forum_reply' AND n.type = 'mention'
      AND f.post_id = NEW.post_id AND f.user_clerk_id = n.user_clerk_id
      AND NOT EXISTS (SELECT FROM notification_mutes m WHERE m.user_clerk_id = n.user_clerk_id AND m.type = 'reply');
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT f.user_clerk_id, 'reply', 'New reply in "' || left(p.title, 200) || '"', NEW.id, 'forum_reply',
           jsonb_build_object('by', NEW.author_clerk_id, 'course_id', p.course_id, 'post_id', p.id,
                              'reply_id', NEW.id)
    FROM forum_thread_follows f JOIN forum_posts p ON p.id = f.post_id
    WHERE f.post_id = NEW.post_id AND f.user_clerk_id IS DISTINCT FROM NEW.author_clerk_id
    ON CONFLICT DO NOTHING;
    IF NEW.author_clerk_id IS NOT NULL THEN
        INSERT INTO forum_thread_follows (post_id, user_clerk_id) VALUES (NEW.post_id, NEW.author_clerk_id)
        ON CONFLICT (post_id, user_clerk_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER forum_replies_notify_followers AFTER INSERT ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION forum_replies_notify_followers();

-- Under as_user() (learnstore.security.MODEL): follows and mutes are private to their user, who
-- adds and removes them in their own name; nobody changes one (remove it and add another). The view
-- counters are read by anyone and written only by learnstore_record_post_view.
GRANT SELECT, DELETE ON forum_thread_follows TO learnstore_app;
GRANT INSERT (post_id, user_clerk_id) ON forum_thread_follows TO learnstore_app;
ALTER TABLE forum_thread_follows ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_thread_follows_own_select ON forum_thread_follows FOR SELECT
    USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_thread_follows_own_insert ON forum_thread_follows FOR INSERT
    WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_thread_follows_own_delete ON forum_thread_follows FOR DELETE
    USING (user_clerk_id = (select learnstore_actor()));

GRANT SELECT, DELETE ON notification_mutes TO learnstore_app;
GRANT INSERT (user_clerk_id, type) ON notification_mutes TO learnstore_app;
ALTER TABLE notification_mutes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notification_mutes_own_select ON notification_mutes FOR SELECT
    USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notification_mutes_own_insert ON notification_mutes FOR INSERT
    WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notification_mutes_own_delete ON notification_mutes FOR DELETE
    USING (user_clerk_id = (select learnstore_actor()));

GRANT SELECT ON forum_post_view_counts TO learnstore_app;
ALTER TABLE forum_post_view_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_post_view_counts_anyone_select ON forum_post_view_counts FOR SELECT USING (true);
