CREATE TABLE churches (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE members (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (church_id, phone)
);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    sender_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    recipient_count INTEGER NOT NULL,
    delivered_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX messages_church_created ON messages (church_id, created_at DESC);

-- status_rank orders statuses so that a late, lower-ranked report never overwrites a later one:
-- pending 0, queued 1, sending 2, sent 3, delivery_unconfirmed 4, final (delivered or failed) 5.
CREATE TABLE message_recipients (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    phone TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    status_rank SMALLINT NOT NULL DEFAULT 0,
    provider_message_id TEXT UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    failure_reason TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (message_id, member_id)
);

CREATE TABLE webhook_events (
    event_id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT NOT NULL REFERENCES churches (id),
    message_id BIGINT NOT NULL REFERENCES messages (id),
    recipient_id BIGINT NOT NULL UNIQUE REFERENCES message_recipients (id),
    phone TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX dead_letters_church_created ON dead_letters (church_id, created_at DESC);
