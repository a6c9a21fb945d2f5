DROP INDEX message_recipients_lookup;
ALTER TABLE message_recipients DROP COLUMN lookup_since;
ALTER TABLE message_recipients DROP COLUMN accepted_at;
