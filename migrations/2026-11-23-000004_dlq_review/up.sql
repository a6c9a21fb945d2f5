-- A dead letter is reviewed once: retried (sent again) or discarded, by whom, and why.
ALTER TABLE dead_letters
    ADD COLUMN resolution TEXT CHECK (resolution IN ('retried', 'discarded')),
    ADD COLUMN resolved_at TIMESTAMPTZ,
    ADD COLUMN resolved_by BIGINT REFERENCES users (id),
    ADD COLUMN resolution_note TEXT;
CREATE INDEX dead_letters_open ON dead_letters (church_id, created_at DESC) WHERE resolution IS NULL;
