-- Account protection: a B2B account may require a second factor of all its users.
ALTER TABLE clients ADD COLUMN mfa_required boolean NOT NULL DEFAULT 0;

-- The audit chain's head: the last row's id under an HMAC, written in the same transaction as
-- the row, so `audit verify` also detects rows cut from the end of the chain.
CREATE TABLE audit_head (
    id       integer PRIMARY KEY CHECK (id = 1),
    last_id  bigint NOT NULL,
    seal     BLOB NOT NULL
);
