-- Notification templates: every change is a new version, kept, so a send records the version it
-- used. A church's admins keep their church's; operators keep the platform's (church_id NULL).
CREATE TABLE notification_templates (
    id BIGSERIAL PRIMARY KEY,
    church_id BIGINT REFERENCES churches (id),
    name TEXT NOT NULL,
    version INT NOT NULL,
    category TEXT NOT NULL CHECK (category IN ('announcement', 'system')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    email_subject TEXT NOT NULL,
    email_text TEXT NOT NULL,
    email_html TEXT,
    sms_text TEXT,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX notification_templates_version
    ON notification_templates (COALESCE(church_id, 0), name, version);

-- A send made from a template: which version, and what its email (and SMS) said once filled in.
ALTER TABLE notification_sends
    ADD COLUMN template_id BIGINT REFERENCES notification_templates (id),
    ADD COLUMN email_subject TEXT,
    ADD COLUMN email_text TEXT,
    ADD COLUMN email_html TEXT,
    ADD COLUMN sms_text TEXT;
