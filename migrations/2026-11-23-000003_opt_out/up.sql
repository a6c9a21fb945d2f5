-- Set when the member texts STOP (or the carrier reports 40300), cleared when they text START.
ALTER TABLE members ADD COLUMN opted_out_at TIMESTAMPTZ;
CREATE INDEX members_phone ON members (phone);
