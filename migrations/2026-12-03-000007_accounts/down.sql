ALTER TABLE churches DROP COLUMN sending_paused_by;
ALTER TABLE churches DROP COLUMN sending_paused_reason;
ALTER TABLE churches DROP COLUMN sending_paused_at;
DROP INDEX members_church_phone;
DELETE FROM members WHERE removed_at IS NOT NULL
    AND id NOT IN (SELECT member_id FROM message_recipients);
ALTER TABLE members ADD CONSTRAINT members_church_id_phone_key UNIQUE (church_id, phone);
ALTER TABLE members DROP COLUMN removed_at;
DROP TABLE revoked_tokens;
DROP INDEX users_church;
DROP INDEX users_standing_changed;
ALTER TABLE users DROP COLUMN standing_changed_at;
ALTER TABLE users DROP COLUMN token_version;
ALTER TABLE users DROP COLUMN disabled_at;
DELETE FROM users WHERE role = 'operator'
    AND id NOT IN (SELECT sender_id FROM messages);
ALTER TABLE users DROP CONSTRAINT users_church_unless_operator;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'staff'));
ALTER TABLE users ALTER COLUMN church_id SET NOT NULL;
