-- Chat: channels an admin creates (the church room needs no row), their members, the messages
-- of every chat room, and how far each user has read in each room.
CREATE TABLE chat_channels (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    name TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (church_id, name)
);

CREATE TABLE chat_channel_members (
    channel_id BIGINT NOT NULL REFERENCES chat_channels (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (channel_id, user_id)
);

-- `room` is the socket room: `church:{id}` or `channel:{id}`.
CREATE TABLE chat_messages (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    room TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    client_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chat_messages_room ON chat_messages (room, id DESC);
-- A client that sends the same message again (after a reconnect) gets the first one back.
CREATE UNIQUE INDEX chat_messages_client ON chat_messages (user_id, client_id)
    WHERE client_id IS NOT NULL;

CREATE TABLE chat_reads (
    room TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    message_id BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (room, user_id)
);
