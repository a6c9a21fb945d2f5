-- Notifications for the platform's users (staff, admins, operators): each one kept in its
-- user's inbox with seen / read / archived marks, and one delivery per channel it goes by.

-- An admin's or operator's send to many people: each recipient gets their own notification.
CREATE TABLE notification_sends (
    id BIGSERIAL PRIMARY KEY,
    sender_id BIGINT NOT NULL REFERENCES users (id),
    -- The sender's church; NULL for an operator's.
    church_id BIGINT REFERENCES churches (id),
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The audience as asked (`{"role": "staff"}`).
    audience JSONB NOT NULL,
    recipient_count INTEGER NOT NULL,
    -- With an Idempotency-Key: the same key and request within a day answer this send again.
    idempotency_key TEXT,
    request TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notification_sends_idempotency ON notification_sends (sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The church it concerns; NULL for the platform's own (an operator's breaker notice).
    church_id BIGINT REFERENCES churches (id),
    category TEXT NOT NULL
        CHECK (category IN ('announcement', 'delivery', 'chat', 'system', 'security')),
    priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    data JSONB NOT NULL DEFAULT '{}',
    -- What made it, so that the same happening never notifies a user twice
    -- (`message:812:finished`).
    dedup_key TEXT,
    -- The admin send it was part of.
    bulk_id BIGINT REFERENCES notification_sends (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at TIMESTAMPTZ,
    read_at TIMESTAMPTZ,
    archived_at TIMESTAMPTZ,
    -- Language-neutral: churches write in many languages.
    search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED
);
CREATE UNIQUE INDEX notifications_once ON notifications (user_id, dedup_key)
    WHERE dedup_key IS NOT NULL;
-- The inbox, newest first: every page is one range scan.
CREATE INDEX notifications_inbox ON notifications (user_id, id DESC) WHERE archived_at IS NULL;
CREATE INDEX notifications_unread ON notifications (user_id, id DESC)
    WHERE archived_at IS NULL AND read_at IS NULL;
CREATE INDEX notifications_archived ON notifications (user_id, id DESC)
    WHERE archived_at IS NOT NULL;
CREATE INDEX notifications_search ON notifications USING gin (search);
CREATE INDEX notifications_bulk ON notifications (bulk_id) WHERE bulk_id IS NOT NULL;

CREATE TABLE notification_deliveries (
    notification_id BIGINT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('in_app', 'email', 'sms')),
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'held', 'sent', 'delivered', 'read', 'failed', 'skipped')),
    reason TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, channel)
);

-- Each user's unread and unseen notifications by category, kept by the triggers below so
-- that the badge never counts rows. Unread: neither read nor archived; unseen: unread and not
-- seen (the badge was not looked at since it came).
CREATE TABLE notification_counters (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    unseen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, category)
);

-- Adds what the changed rows take and give to their users' counters: `gone` is the rows as
-- they were (none for an insert), `came` as they are (none for a delete). Counters are
-- written in key order, so two statements at once wait for each other rather than deadlock.
CREATE FUNCTION count_notifications(gone notifications[], came notifications[]) RETURNS void AS $$
    INSERT INTO notification_counters (user_id, category, unread, unseen)
    SELECT user_id, category, sum(unread), sum(unseen)
    FROM (
        SELECT n.user_id, n.category,
            CASE WHEN n.read_at IS NULL AND n.archived_at IS NULL THEN -1 ELSE 0 END AS unread,
            CASE WHEN n.read_at IS NULL AND n.archived_at IS NULL AND n.seen_at IS NULL
                THEN -1 ELSE 0 END AS unseen
        FROM unnest(gone) AS n
        UNION ALL
        SELECT n.user_id, n.category,
            CASE WHEN n.read_at IS NULL AND n.archived_at IS NULL THEN 1 ELSE 0 END,
            CASE WHEN n.read_at IS NULL AND n.archived_at IS NULL AND n.seen_at IS NULL
                THEN 1 ELSE 0 END
        FROM unnest(came) AS n
    ) d
    GROUP BY user_id, category
    HAVING sum(unread) <> 0 OR sum(unseen) <> 0
    ORDER BY user_id, category
    ON CONFLICT (user_id, category) DO UPDATE
        SET unread = notification_counters.unread + EXCLUDED.unread,
            unseen = notification_counters.unseen + EXCLUDED.unseen;
$$ LANGUAGE sql;

CREATE FUNCTION notifications_inserted() RETURNS trigger AS $$
BEGIN
    PERFORM count_notifications('{}', (SELECT coalesce(array_agg(c::notifications), '{}') FROM came c));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION notifications_updated() RETURNS trigger AS $$
BEGIN
    PERFORM count_notifications((SELECT coalesce(array_agg(g::notifications), '{}') FROM gone g),
                                (SELECT coalesce(array_agg(c::notifications), '{}') FROM came c));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION notifications_deleted() RETURNS trigger AS $$
BEGIN
    PERFORM count_notifications((SELECT coalesce(array_agg(g::notifications), '{}') FROM gone g), '{}');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Once per statement: marking 10,000 read updates each user's counters once.
CREATE TRIGGER notifications_count_inserted AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS came FOR EACH STATEMENT EXECUTE FUNCTION notifications_inserted();
CREATE TRIGGER notifications_count_updated AFTER UPDATE ON notifications
    REFERENCING OLD TABLE AS gone NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_updated();
CREATE TRIGGER notifications_count_deleted AFTER DELETE ON notifications
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION notifications_deleted();

-- Replies in a conversation are not broadcasts: their sender is not told when they finish.
ALTER TABLE messages ADD COLUMN conversation_reply BOOLEAN NOT NULL DEFAULT false;
