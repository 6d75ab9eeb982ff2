-- Whether an application's access tokens carry the `permissions` claim (issue 16, token size).
-- Off: services ask `/authz/check` or the gateway, which read the permissions from the role and
-- the user under the token's generations; every other claim a service reads stays.
ALTER TABLE applications ADD COLUMN token_permissions BOOLEAN NOT NULL DEFAULT 1;
