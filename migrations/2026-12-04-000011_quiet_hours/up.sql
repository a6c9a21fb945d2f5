-- Church quiet hours. The settings are what admins chose (off until they turn it on); quiet_from
-- and quiet_until are the stretch that is running or comes next, as instants the server works
-- out from the settings with the zone's rules (src/domain/quiet_hours.rs) and rolls forward
-- when it ends. Claiming sends only compares now() with them.
ALTER TABLE churches ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE churches ADD COLUMN quiet_hours_enabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE churches ADD COLUMN quiet_hours_start TIME NOT NULL DEFAULT '21:00';
ALTER TABLE churches ADD COLUMN quiet_hours_end TIME NOT NULL DEFAULT '08:00';
ALTER TABLE churches ADD COLUMN quiet_from TIMESTAMPTZ;
ALTER TABLE churches ADD COLUMN quiet_until TIMESTAMPTZ;
-- An admin's urgent message goes out even in quiet hours; a held one was moved to their end.
ALTER TABLE messages ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN held_for_quiet_hours BOOLEAN NOT NULL DEFAULT false;
