ALTER TABLE messages DROP COLUMN held_from;
