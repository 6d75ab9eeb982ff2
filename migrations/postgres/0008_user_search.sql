-- The admin user search matches a username or email by its start (`q=anna`), as Keycloak's
-- does; `*anna*` (contains) keeps the trigram indexes of 0007. A start is a range in byte order:
-- these indexes serve it with a bound parameter, which LIKE 'anna%' cannot (only a pattern known
-- when planning uses a btree).
CREATE INDEX users_username_c ON users ((username COLLATE "C"));
CREATE INDEX users_email_c ON users ((lower(email) COLLATE "C"));

-- A user's own security events (/account): what they did and what was done to them, newest
-- first, without walking the whole trail.
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, id);
CREATE INDEX audit_logs_target_idx ON audit_logs (target_id, id);
