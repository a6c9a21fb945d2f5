-- Two-way SMS. A church may have its own sender number; replies to it are its own. Replies to
-- the platform's shared number belong to the church that last messaged that phone.
ALTER TABLE churches ADD COLUMN from_number TEXT UNIQUE;

-- One conversation per church and phone, created by the phone's first reply. The last line and
-- the unread count are kept here so the list is one indexed read.
CREATE TABLE conversations (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    phone TEXT NOT NULL,
    unread INT NOT NULL DEFAULT 0,
    last_direction TEXT NOT NULL,
    last_body TEXT NOT NULL,
    last_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (church_id, phone)
);
CREATE INDEX conversations_recent ON conversations (church_id, last_at DESC, id DESC);
CREATE INDEX conversations_unread ON conversations (church_id, last_at DESC, id DESC)
    WHERE unread > 0;

-- The thread, in one sequence: what the phone sent, what the church sent it (each pointing at
-- its recipient row for the delivery status) and system lines (opted out, opted back in).
CREATE TABLE conversation_entries (
    id BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'system')),
    body TEXT NOT NULL,
    recipient_id BIGINT REFERENCES message_recipients (id),
    message_id BIGINT REFERENCES messages (id),
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX conversation_entries_thread ON conversation_entries (conversation_id, id DESC);

-- Replies nobody could be found for (a number no church uses, a phone no church messaged):
-- kept for operators rather than dropped.
CREATE TABLE unrouted_replies (
    id BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    from_phone TEXT NOT NULL,
    to_phone TEXT,
    body TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Who last messaged a phone, and a conversation's earlier messages.
CREATE INDEX message_recipients_phone ON message_recipients (phone, id DESC);
