-- The OpenID Connect standard claims of a user beyond name, email and phone (issue 14):
-- given_name, family_name, middle_name, nickname, picture, website, gender, birthdate, zoneinfo,
-- locale and address, as one JSON object (absent fields left out).
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}';

-- An application's OpenID Connect and OAuth settings beyond the columns above, as one JSON object
-- whose members all default (require_pushed_authorization_requests, token_endpoint_auth_method,
-- jwks, jwks_uri, backchannel_logout_uri, …), so a new setting needs no new column.
ALTER TABLE applications ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
