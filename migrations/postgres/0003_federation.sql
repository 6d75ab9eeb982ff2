-- An upstream identity belongs to the identity provider (and so the B2B account) it signed in
-- through: two accounts that share an issuer (a public IdP, one corporate tenant) keep apart
-- links, and a provider's links never answer for another provider's sign-ins.
ALTER TABLE federated_identities DROP CONSTRAINT federated_identities_pkey;
ALTER TABLE federated_identities ADD PRIMARY KEY (idp_id, issuer, subject);

-- Claims every sign-in must carry (e.g. `hd` or `tid` naming the company's tenant at a shared
-- issuer), set by staff.
ALTER TABLE identity_providers ADD COLUMN required_claims jsonb NOT NULL DEFAULT '[]';
