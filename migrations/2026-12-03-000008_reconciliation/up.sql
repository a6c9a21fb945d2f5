-- A recipient the carrier accepted is looked up with the carrier if no final status arrives:
-- when it was accepted (for the "unconfirmed" deadline), and since when it has waited for a
-- look (NULL once settled, so the index holds only recipients still waiting).
ALTER TABLE message_recipients ADD COLUMN accepted_at TIMESTAMPTZ;
ALTER TABLE message_recipients ADD COLUMN lookup_since TIMESTAMPTZ;

UPDATE message_recipients
   SET accepted_at = updated_at,
       lookup_since = CASE WHEN status_rank < 4 THEN updated_at END
 WHERE provider_message_id IS NOT NULL;

CREATE INDEX message_recipients_lookup ON message_recipients (lookup_since)
    WHERE lookup_since IS NOT NULL;
