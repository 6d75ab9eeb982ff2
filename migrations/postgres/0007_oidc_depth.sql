-- The OpenID Connect standard claims of a user beyond name, email and phone (issue 14):
-- given_name, family_name, middle_name, nickname, picture, website, gender, birthdate, zoneinfo,
-- locale and address, as one JSON object (absent fields left out).
ALTER TABLE users ADD COLUMN profile jsonb NOT NULL DEFAULT '{}';

-- An application's OpenID Connect and OAuth settings beyond the columns above, as one JSON object
-- whose members all default (require_pushed_authorization_requests, token_endpoint_auth_method,
-- jwks, jwks_uri, backchannel_logout_uri, …), so a new setting needs no new column.
ALTER TABLE applications ADD COLUMN settings jsonb NOT NULL DEFAULT '{}';

-- The admin user search by text (a substring of the username or the email) stays fast at a
-- million users (bench/scale: 1.95 s per search without them, a full scan). pg_trgm is a trusted
-- extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (lower(email) gin_trgm_ops);
