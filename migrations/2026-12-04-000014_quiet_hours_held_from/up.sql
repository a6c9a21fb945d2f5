-- When a held message would have gone (its sendAt, or when it was sent): if quiet hours change,
-- it is timed again from there, never earlier.
ALTER TABLE messages ADD COLUMN held_from TIMESTAMPTZ;
