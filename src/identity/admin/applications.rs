//! Application administration (`/admin/v1/applications`), for staff with the `applications`
//! permissions: register, change, delete, and rotate a confidential application's secret (the
//! new one is shown once; the old one stops working at once on this node and within the
//! client cache's lifetime on others).

use super::principal::Principal;
use super::services::ApplicationAdmin;
use super::{AdminError, NewApplication, create_application, parse_uris};
use crate::audit::{Action, Outcome};
use crate::model::application::{Application, ClientId, ClientSecret, GrantType};
use crate::model::scope::Scope;

/// Changes to an application; absent fields stay.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ApplicationChange {
    pub name: Option<String>,
    /// The grants it may use at `/token` (all of them: the list replaces the old one).
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    pub token_permissions: Option<bool>,
    pub id_token_signed_response_alg: Option<String>,
    pub require_pushed_authorization_requests: Option<bool>,
    /// New keys of a `private_key_jwt` application (one of the two).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    /// A new back-channel logout URI (`""` removes it).
    pub backchannel_logout_uri: Option<String>,
    pub first_party: Option<bool>,
    pub introspect: Option<bool>,
    pub enabled: Option<bool>,
}

/// True when a change touches nothing but `enabled`.
fn only_enabled(change: &ApplicationChange) -> bool {
    let ApplicationChange {
        name,
        grant_types,
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
        resources,
        token_permissions,
        id_token_signed_response_alg,
        require_pushed_authorization_requests,
        jwks,
        jwks_uri,
        backchannel_logout_uri,
        first_party,
        introspect,
        enabled: _,
    } = change;
    name.is_none()
        && grant_types.is_none()
        && redirect_uris.is_none()
        && post_logout_redirect_uris.is_none()
        && scopes.is_none()
        && resources.is_none()
        && token_permissions.is_none()
        && id_token_signed_response_alg.is_none()
        && require_pushed_authorization_requests.is_none()
        && jwks.is_none()
        && jwks_uri.is_none()
        && backchannel_logout_uri.is_none()
        && first_party.is_none()
        && introspect.is_none()
}

impl ApplicationAdmin<'_> {
    async fn allowed(&self, who: &Principal, wanted: &str, action: Action, app: &str) -> Result<(), AdminError> {
        if let Err(denied) = who.check(wanted, None) {
            return Err(self
                .refuse_change(who, action, ("application", app), None, denied)
                .await);
        }
        Ok(())
    }

    pub async fn list(&self, who: &Principal, after: Option<&str>, limit: i64) -> Result<Vec<Application>, AdminError> {
        who.check("applications:read", None)
            .map_err(|d| AdminError::Forbidden(d.0))?;
        let after = after
            .map(ClientId::parse)
            .transpose()
            .map_err(|e| AdminError::Invalid {
                field: "cursor",
                message: e.0,
            })?;
        Ok(self.db.list_applications(after.as_ref(), limit.clamp(1, 200)).await?)
    }

    pub async fn application(&self, who: &Principal, id: &str) -> Result<Application, AdminError> {
        who.check("applications:read", None)
            .map_err(|d| AdminError::Forbidden(d.0))?;
        let missing = || AdminError::NotFound(format!("no application {:?}", id.chars().take(64).collect::<String>()));
        let client_id = ClientId::parse(id).map_err(|_| missing())?;
        self.db.find_application(&client_id).await?.ok_or_else(missing)
    }

    pub async fn register(
        &self,
        who: &Principal,
        input: NewApplication,
    ) -> Result<(Application, Option<ClientSecret>), AdminError> {
        self.allowed(who, "applications:create", Action::ApplicationCreate, &input.name)
            .await?;
        let (app, secret) = create_application(self.db, self.clock, input).await?;
        self.record_change(
            who,
            Action::ApplicationCreate,
            ("application", app.client_id.as_str()),
            None,
            Outcome::Success,
            serde_json::json!({ "name": app.name }),
        )
        .await;
        Ok((app, secret))
    }

    pub async fn change_application(
        &self,
        who: &Principal,
        id: &str,
        change: ApplicationChange,
    ) -> Result<Application, AdminError> {
        let mut app = self.application(who, id).await?;
        self.allowed(who, "applications:update", Action::ApplicationUpdate, id)
            .await?;
        if app.client_id.as_str() == super::CONSOLE_CLIENT_ID && !only_enabled(&change) {
            return Err(AdminError::Invalid {
                field: "client_id",
                message: "the console's own application can only be enabled or disabled".into(),
            });
        }
        if let Some(name) = change.name {
            app.name = crate::model::account::display_name(&name).map_err(|e| AdminError::Invalid {
                field: "name",
                message: e.0,
            })?;
        }
        if let Some(uris) = change.redirect_uris {
            app.redirect_uris = parse_uris(&uris, "redirect_uris")?;
        }
        if let Some(uris) = change.post_logout_redirect_uris {
            app.post_logout_redirect_uris = parse_uris(&uris, "post_logout_redirect_uris")?;
        }
        if let Some(scopes) = change.scopes {
            app.scopes = Scope::from_tokens(scopes.iter().map(String::as_str)).map_err(|e| AdminError::Invalid {
                field: "scopes",
                message: e.0,
            })?;
        }
        if let Some(resources) = change.resources {
            app.resources = super::parse_resources(&resources)?;
        }
        if let Some(carried) = change.token_permissions {
            app.token_permissions = carried;
        }
        if let Some(alg) = super::id_token_alg(change.id_token_signed_response_alg.as_deref())? {
            app.id_token_alg = alg;
        }
        if let Some(par) = change.require_pushed_authorization_requests {
            app.settings.require_pushed_authorization_requests = par;
        }
        if let Some(uri) = change.backchannel_logout_uri.as_deref() {
            app.settings.backchannel_logout_uri = super::logout_uri(Some(uri))?;
        }
        if change.jwks.is_some() || change.jwks_uri.is_some() {
            let method = app.settings.private_key_jwt.then_some("private_key_jwt");
            let (_, jwks, jwks_uri) = super::client_keys(method, app.is_public(), change.jwks, change.jwks_uri)?;
            app.settings.jwks = jwks;
            app.settings.jwks_uri = jwks_uri;
        }
        if let Some(grants) = change.grant_types {
            let mut parsed = Vec::new();
            for g in &grants {
                let grant = GrantType::parse(g).map_err(|e| AdminError::Invalid {
                    field: "grant_types",
                    message: e.0,
                })?;
                if !parsed.contains(&grant) {
                    parsed.push(grant);
                }
            }
            if app.service_role.is_some() && !parsed.contains(&GrantType::ClientCredentials) {
                return Err(AdminError::Invalid {
                    field: "grant_types",
                    message: "a service role needs the client_credentials grant".into(),
                });
            }
            app.grant_types = parsed;
        }
        // Whatever changed, the grants still fit the redirect URIs and the kind of client.
        super::grants_fit(&app.grant_types, !app.redirect_uris.is_empty(), app.is_public())?;
        if let Some(introspect) = change.introspect {
            if introspect && app.is_public() {
                return Err(AdminError::Invalid {
                    field: "introspect",
                    message: "only confidential applications may introspect".into(),
                });
            }
            app.may_introspect = introspect;
        }
        let before = (app.first_party, app.enabled);
        let read_at = app.updated_at;
        app.first_party = change.first_party.unwrap_or(app.first_party);
        app.enabled = change.enabled.unwrap_or(app.enabled);
        app.updated_at = self.clock.now();
        // Disabling an application, or taking its first-party standing, ends its tokens and
        // families (they were issued with more authority than it now has).
        let ends = (before.0 && !app.first_party) || (before.1 && !app.enabled);
        let client_id = app.client_id.to_string();
        let generation = crate::oauth::revocation::Generation::App(&client_id);
        self.ending(ends.then_some(generation), self.db.update_application(&app, read_at))
            .await?;
        self.record_change(
            who,
            Action::ApplicationUpdate,
            ("application", id),
            None,
            Outcome::Success,
            serde_json::json!({ "enabled": app.enabled }),
        )
        .await;
        Ok(app)
    }

    pub async fn delete_application(&self, who: &Principal, id: &str) -> Result<(), AdminError> {
        let app = self.application(who, id).await?;
        self.allowed(who, "applications:delete", Action::ApplicationDelete, id)
            .await?;
        if app.client_id.as_str() == super::CONSOLE_CLIENT_ID {
            return Err(AdminError::Conflict(
                "the console's own application cannot be deleted: disable it to turn the console off".into(),
            ));
        }
        let client_id = app.client_id.to_string();
        let generation = crate::oauth::revocation::Generation::App(&client_id);
        self.ending(Some(generation), self.db.delete_application(&app.client_id))
            .await?;
        self.record_change(
            who,
            Action::ApplicationDelete,
            ("application", id),
            None,
            Outcome::Success,
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// A new secret for a confidential application, shown this once.
    pub async fn rotate_secret(&self, who: &Principal, id: &str) -> Result<(Application, ClientSecret), AdminError> {
        let mut app = self.application(who, id).await?;
        self.allowed(who, "applications:update", Action::ApplicationSecretRotate, id)
            .await?;
        if app.is_public() || app.settings.private_key_jwt {
            return Err(AdminError::Invalid {
                field: "client_id",
                message: "this application has no secret (public, or private_key_jwt: rotate its keys instead)".into(),
            });
        }
        let secret = ClientSecret::generate();
        app.secret_hash = Some(secret.hash());
        let read_at = std::mem::replace(&mut app.updated_at, self.clock.now());
        self.db.update_application(&app, read_at).await?;
        self.record_change(
            who,
            Action::ApplicationSecretRotate,
            ("application", id),
            None,
            Outcome::Success,
            serde_json::json!({}),
        )
        .await;
        Ok((app, secret))
    }
}
