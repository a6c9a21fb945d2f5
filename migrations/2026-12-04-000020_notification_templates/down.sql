ALTER TABLE notification_sends
    DROP COLUMN sms_text, DROP COLUMN email_html, DROP COLUMN email_text,
    DROP COLUMN email_subject, DROP COLUMN template_id;
DROP TABLE notification_templates;
