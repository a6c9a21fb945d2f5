-- The users a chat message mentions, as its author's client named them; each is told in a
-- `chat` notification unless they read the message soon after.
ALTER TABLE chat_messages ADD COLUMN mentions BIGINT[] NOT NULL DEFAULT '{}';
