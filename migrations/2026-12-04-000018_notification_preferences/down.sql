ALTER TABLE users DROP COLUMN phone;
DROP TABLE notification_preferences;
