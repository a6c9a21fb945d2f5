DROP INDEX messages_church_status_history;
CREATE INDEX messages_church_created ON messages (church_id, created_at DESC);
DROP INDEX messages_church_history;
DROP INDEX messages_sender_recent;
