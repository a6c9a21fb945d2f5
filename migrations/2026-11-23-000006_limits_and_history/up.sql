-- A user's recent sends, counted when their SMS limit is rebuilt after a restart.
CREATE INDEX messages_sender_recent ON messages (sender_id, created_at);
-- A church's messages newest first: history pages (by cursor, so with the id as tie-break)
-- and the sends of the last 24 hours summed against the church's recipient quota. It
-- replaces the index without the id.
CREATE INDEX messages_church_history ON messages (church_id, created_at DESC, id DESC);
DROP INDEX messages_church_created;
-- The same for one status at a time.
CREATE INDEX messages_church_status_history
    ON messages (church_id, status, created_at DESC, id DESC);
