-- The outbox: every recipient row says whether it still has to be sent and when.
--   ready       due at next_attempt_at
--   claimed     handed to the delivery actors, not yet sent (safe to hand out again after a crash)
--   attempting  a request to the carrier may be on the wire (never resent blindly after a crash)
--   done        accepted by the carrier, or given up (dead-lettered)
ALTER TABLE message_recipients
    ADD COLUMN outbox_state TEXT NOT NULL DEFAULT 'ready'
        CHECK (outbox_state IN ('ready', 'claimed', 'attempting', 'done')),
    ADD COLUMN next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE INDEX message_recipients_due ON message_recipients (next_attempt_at, id)
    WHERE outbox_state = 'ready';
CREATE INDEX message_recipients_unfinished ON message_recipients (outbox_state)
    WHERE outbox_state IN ('claimed', 'attempting');

-- Every failed attempt, kept for the dead-letter record.
CREATE TABLE delivery_attempts (
    id BIGSERIAL PRIMARY KEY,
    recipient_id BIGINT NOT NULL REFERENCES message_recipients (id),
    attempt INTEGER NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    http_status INTEGER,
    code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX delivery_attempts_recipient ON delivery_attempts (recipient_id, attempt);

-- Idempotency-Key on POST /api/messages: the same key and request within 24 hours returns the
-- first answer.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id),
    key TEXT NOT NULL,
    request TEXT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    -- The JSON answered the first time, returned as it was.
    response TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
