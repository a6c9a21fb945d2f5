DROP INDEX dead_letters_open;
ALTER TABLE dead_letters
    DROP COLUMN resolution_note, DROP COLUMN resolved_by, DROP COLUMN resolved_at, DROP COLUMN resolution;
