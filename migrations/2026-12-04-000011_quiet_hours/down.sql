ALTER TABLE messages DROP COLUMN held_for_quiet_hours;
ALTER TABLE messages DROP COLUMN urgent;
ALTER TABLE churches DROP COLUMN quiet_until;
ALTER TABLE churches DROP COLUMN quiet_from;
ALTER TABLE churches DROP COLUMN quiet_hours_end;
ALTER TABLE churches DROP COLUMN quiet_hours_start;
ALTER TABLE churches DROP COLUMN quiet_hours_enabled;
ALTER TABLE churches DROP COLUMN timezone;
