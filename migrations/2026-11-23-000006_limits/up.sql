-- A user's recent sends, counted when their SMS limit is rebuilt after a restart.
CREATE INDEX messages_sender_recent ON messages (sender_id, created_at);
-- A church's sends of the last 24 hours, summed against its daily recipient quota.
CREATE INDEX messages_church_recent ON messages (church_id, created_at);
