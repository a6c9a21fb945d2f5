-- What each user chose about their notifications: the whole document, defaults filled in
-- (src/domain/notification_preferences.rs reads and writes it). No row: the defaults.
CREATE TABLE notification_preferences (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    settings JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The user's own number for notifications by SMS (E.164), set by them.
ALTER TABLE users ADD COLUMN phone TEXT;
