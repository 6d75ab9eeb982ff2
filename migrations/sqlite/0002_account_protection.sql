-- Account protection: a B2B account may require a second factor of all its users.
ALTER TABLE clients ADD COLUMN mfa_required boolean NOT NULL DEFAULT 0;
