-- The OpenID Connect standard claims of a user beyond name, email and phone (issue 14):
-- given_name, family_name, middle_name, nickname, picture, website, gender, birthdate, zoneinfo,
-- locale and address, as one JSON object (absent fields left out).
ALTER TABLE users ADD COLUMN profile jsonb NOT NULL DEFAULT '{}';
