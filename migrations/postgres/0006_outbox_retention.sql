-- Sent outbox rows are deleted after OUTBOX_RETENTION (issue 15): found by when they were sent.
CREATE INDEX outbox_sent_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
