-- Propusk's first schema (DESIGN.md, Data). Later changes come as new migrations, never edits.
-- Ids are UUIDv7 (time-ordered), so cursor pagination by id follows creation order.

-- B2B customer accounts ("clients" in the service specification).
CREATE TABLE clients (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    slug        text NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX clients_slug_key ON clients (slug);

-- Roles: a scope says who may hold them (staff: users without an account; account: users of one).
CREATE TABLE roles (
    name         text PRIMARY KEY,
    description  text NOT NULL DEFAULT '',
    scope        text NOT NULL CHECK (scope IN ('staff', 'account')),
    permissions  jsonb NOT NULL DEFAULT '[]',
    builtin      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO roles (name, description, scope, permissions, builtin) VALUES
    ('admin', 'Platform administrator: every permission', 'staff', '["*:*"]', true),
    ('operator', 'Internal operator: all parcels, read access to users, accounts and audit', 'staff',
        '["parcels:*", "users:read", "clients:read", "audit:read"]', true),
    ('client_admin', 'Administrator of one B2B account', 'account',
        '["parcels:*", "users:*", "audit:read"]', true),
    ('client_user', 'User of one B2B account', 'account', '["parcels:read", "parcels:create"]', true);

-- Users. The specification's fields (id, username, password_hash, email, phone, role, permissions,
-- status, created_at) plus the B2B account, display name, verification flags and the not-before
-- time that revokes earlier tokens. Usernames are stored lower-case; emails compare case-blind.
-- Deleted users keep their row with personal data erased, so audit records still resolve.
CREATE TABLE users (
    id              uuid PRIMARY KEY,
    username        text NOT NULL CHECK (username = lower(username)),
    password_hash   text,
    email           text,
    phone           text,
    role            text NOT NULL REFERENCES roles (name),
    permissions     jsonb NOT NULL DEFAULT '[]',
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'deleted')),
    client_id       uuid REFERENCES clients (id),
    name            text,
    email_verified  boolean NOT NULL DEFAULT false,
    phone_verified  boolean NOT NULL DEFAULT false,
    not_before      timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_client_id_idx ON users (client_id, id);

-- OAuth/OIDC applications. Secrets are stored as SHA-256 (they are 256-bit random values);
-- public applications have none. Lifetimes in seconds override the server defaults.
CREATE TABLE applications (
    client_id                  text PRIMARY KEY,
    name                       text NOT NULL,
    secret_hash                bytea,
    redirect_uris              jsonb NOT NULL DEFAULT '[]',
    post_logout_redirect_uris  jsonb NOT NULL DEFAULT '[]',
    grant_types                jsonb NOT NULL DEFAULT '[]',
    scopes                     jsonb NOT NULL DEFAULT '[]',
    first_party                boolean NOT NULL DEFAULT false,
    may_introspect             boolean NOT NULL DEFAULT false,
    service_role               text REFERENCES roles (name),
    account_id                 uuid REFERENCES clients (id),
    id_token_alg               text NOT NULL DEFAULT 'RS256' CHECK (id_token_alg IN ('RS256', 'ES256')),
    access_token_ttl_secs      integer,
    refresh_token_ttl_secs     integer,
    enabled                    boolean NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL
);

-- Consent a user gave an application (non-first-party apps), so it is asked once.
CREATE TABLE consents (
    user_id     uuid NOT NULL REFERENCES users (id),
    client_id   text NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    scopes      jsonb NOT NULL DEFAULT '[]',
    granted_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Upstream OIDC identity providers of B2B accounts. The client secret is AES-256-GCM encrypted
-- with a key derived from the master key, because it must be read back.
CREATE TABLE identity_providers (
    id                   uuid PRIMARY KEY,
    client_id            uuid NOT NULL REFERENCES clients (id),
    issuer               text NOT NULL,
    oauth_client_id      text NOT NULL,
    client_secret_enc    bytea,
    scopes               jsonb NOT NULL DEFAULT '["openid", "email", "profile"]',
    claims               jsonb NOT NULL DEFAULT '{}',
    domains              jsonb NOT NULL DEFAULT '[]',
    jit                  boolean NOT NULL DEFAULT false,
    default_role         text REFERENCES roles (name),
    role_rules           jsonb NOT NULL DEFAULT '[]',
    sso_required         boolean NOT NULL DEFAULT false,
    accept_upstream_mfa  boolean NOT NULL DEFAULT false,
    enabled              boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX identity_providers_client_id_idx ON identity_providers (client_id);

-- Links between an upstream identity (issuer, subject) and a local user.
CREATE TABLE federated_identities (
    issuer         text NOT NULL,
    subject        text NOT NULL,
    user_id        uuid NOT NULL REFERENCES users (id),
    idp_id         uuid NOT NULL REFERENCES identity_providers (id),
    created_at     timestamptz NOT NULL,
    last_login_at  timestamptz,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX federated_identities_user_id_idx ON federated_identities (user_id);

-- Second factors: TOTP (seed encrypted with the master key), email and SMS (the target address).
CREATE TABLE mfa_factors (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id),
    kind          text NOT NULL CHECK (kind IN ('totp', 'email', 'sms')),
    secret_enc    bytea,
    target        text,
    confirmed_at  timestamptz,
    last_used_step bigint,
    created_at    timestamptz NOT NULL
);
CREATE INDEX mfa_factors_user_id_idx ON mfa_factors (user_id);

-- Single-use recovery codes, stored hashed.
CREATE TABLE recovery_codes (
    user_id     uuid NOT NULL REFERENCES users (id),
    code_hash   bytea NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- The audit trail: append-only. Each row's hmac covers its own fields and the previous row's
-- hmac (key derived from the master key), so edits, deletions and truncation are detectable.
CREATE TABLE audit_logs (
    id           bigint PRIMARY KEY,
    occurred_at  timestamptz NOT NULL,
    actor_type   text NOT NULL,
    actor_id     text,
    client_id    uuid,
    ip           text,
    user_agent   text,
    action       text NOT NULL,
    target_type  text,
    target_id    text,
    outcome      text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}',
    prev_hmac    bytea NOT NULL,
    hmac         bytea NOT NULL
);
CREATE INDEX audit_logs_client_id_idx ON audit_logs (client_id, id);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, id);

-- The transactional outbox: events written in the same transaction as the change they describe,
-- forwarded to Kafka by the relay and marked sent only after the broker acknowledged them.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    key         text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
