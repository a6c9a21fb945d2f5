-- Platform operators (no church needed), accounts that can be disabled, tokens that can be
-- taken back, members that can be removed, and churches that can pause their own sending.

ALTER TABLE users ALTER COLUMN church_id DROP NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('operator', 'admin', 'staff'));
ALTER TABLE users ADD CONSTRAINT users_church_unless_operator
    CHECK (church_id IS NOT NULL OR role = 'operator');
-- Set when an admin disables (or "deletes") the account; its history stays.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
-- Tokens carry the version they were minted under; a password change moves it on.
ALTER TABLE users ADD COLUMN token_version INT NOT NULL DEFAULT 0;
-- Moved on by anything that changes what the user's tokens allow (role, disabled, password,
-- a token revoked), so that nodes find the users whose open sockets must be checked again.
ALTER TABLE users ADD COLUMN standing_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX users_standing_changed ON users (standing_changed_at);
CREATE INDEX users_church ON users (church_id, id);

-- Signed-out tokens, until they would have expired anyway.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_user ON revoked_tokens (user_id, expires_at);

-- A removed member keeps their sends' history but receives nothing more, and their number can
-- be added again.
ALTER TABLE members ADD COLUMN removed_at TIMESTAMPTZ;
ALTER TABLE members DROP CONSTRAINT members_church_id_phone_key;
CREATE UNIQUE INDEX members_church_phone ON members (church_id, phone) WHERE removed_at IS NULL;

-- A church's own hold on its sending, set by its admins.
ALTER TABLE churches ADD COLUMN sending_paused_at TIMESTAMPTZ;
ALTER TABLE churches ADD COLUMN sending_paused_reason TEXT;
ALTER TABLE churches ADD COLUMN sending_paused_by BIGINT REFERENCES users (id);
