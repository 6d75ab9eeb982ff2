-- The admin user search matches a username or email by its start: SQLite compares in byte order
-- already, and the unique indexes of 0001 on username and lower(email) serve the range.

-- A user's own security events (/account): what they did and what was done to them, newest
-- first, without walking the whole trail.
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, id);
CREATE INDEX audit_logs_target_idx ON audit_logs (target_id, id);
