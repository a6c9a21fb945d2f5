-- A user's recent sends, counted when their SMS limit is rebuilt after a restart.
CREATE INDEX messages_sender_recent ON messages (sender_id, created_at);
