-- An upstream identity belongs to the identity provider (and so the B2B account) it signed in
-- through: two accounts that share an issuer (a public IdP, one corporate tenant) keep apart
-- links, and a provider's links never answer for another provider's sign-ins.
CREATE TABLE federated_identities_new (
    issuer         text NOT NULL,
    subject        text NOT NULL,
    user_id        BLOB NOT NULL REFERENCES users (id),
    idp_id         BLOB NOT NULL REFERENCES identity_providers (id),
    created_at     TEXT NOT NULL,
    last_login_at  TEXT,
    PRIMARY KEY (idp_id, issuer, subject)
);
INSERT INTO federated_identities_new (issuer, subject, user_id, idp_id, created_at, last_login_at)
    SELECT issuer, subject, user_id, idp_id, created_at, last_login_at FROM federated_identities;
DROP TABLE federated_identities;
ALTER TABLE federated_identities_new RENAME TO federated_identities;
CREATE INDEX federated_identities_user_id_idx ON federated_identities (user_id);

-- Claims every sign-in must carry (e.g. `hd` or `tid` naming the company's tenant at a shared
-- issuer), set by staff.
ALTER TABLE identity_providers ADD COLUMN required_claims TEXT NOT NULL DEFAULT '[]';
