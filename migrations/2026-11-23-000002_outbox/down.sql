DROP TABLE idempotency_keys;
DROP TABLE delivery_attempts;
DROP INDEX message_recipients_unfinished;
DROP INDEX message_recipients_due;
ALTER TABLE message_recipients DROP COLUMN next_attempt_at, DROP COLUMN outbox_state;
