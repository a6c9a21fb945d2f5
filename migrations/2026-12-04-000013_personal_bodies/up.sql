-- A body with merge fields ({{ firstName }}) is rendered for each recipient when the message is
-- accepted; that text is kept here. NULL: the recipient gets the message's body as it is.
ALTER TABLE message_recipients ADD COLUMN body TEXT;
