//! `/console/applications`: staff list and register OAuth applications; an application's page
//! changes its name, redirect URIs, scopes and flags, makes a new secret (shown once) and
//! deletes it. Each goes through [`crate::identity::admin::services::ApplicationAdmin`].

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Choices, Chrome, ConfirmPage, ConsoleRequest, Done, done, encode, failed, short};
use crate::http::ui::Ui;
use crate::identity::admin::applications::ApplicationChange;
use crate::identity::admin::{AdminError, NewApplication};
use crate::model::application::{Application, GrantType};
use crate::model::role::RoleScope;

pub struct AppRow {
    client_id: String,
    name: String,
    kind: &'static str,
    grants: String,
    first_party: bool,
    enabled: bool,
}

fn app_row(ui: &Ui, app: &Application) -> AppRow {
    AppRow {
        client_id: app.client_id.to_string(),
        name: app.name.clone(),
        kind: if app.secret_hash.is_some() || app.settings.private_key_jwt {
            ui.c_confidential
        } else {
            ui.c_public_kind
        },
        grants: app
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        first_party: app.first_party,
        enabled: app.enabled,
    }
}

/// One URI per line (or separated by spaces).
fn lines(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default().split_whitespace().map(str::to_owned).collect()
}

fn on(v: &Option<String>) -> bool {
    v.as_deref() == Some("on")
}

/// What the registration and the change forms of an application share.
#[derive(Debug, Default, Deserialize)]
pub struct AppFields {
    name: Option<String>,
    redirect_uris: Option<String>,
    post_logout_redirect_uris: Option<String>,
    authorization_code: Option<String>,
    refresh_token: Option<String>,
    client_credentials: Option<String>,
    password: Option<String>,
    scopes: Option<String>,
    first_party: Option<String>,
    introspect: Option<String>,
}

impl AppFields {
    /// The grants ticked, by their names.
    fn grants(&self) -> Vec<String> {
        [
            (&self.authorization_code, GrantType::AuthorizationCode),
            (&self.refresh_token, GrantType::RefreshToken),
            (&self.client_credentials, GrantType::ClientCredentials),
            (&self.password, GrantType::Password),
        ]
        .into_iter()
        .filter(|(v, _)| on(v))
        .map(|(_, g)| g.as_str().to_owned())
        .collect()
    }
}

#[derive(Template)]
#[template(path = "console/applications.html")]
struct AppsPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    rows: Vec<AppRow>,
    next: Option<String>,
    may_create: bool,
    /// The staff roles a service may hold (client_credentials).
    service_roles: Choices,
    form: &'a NewAppForm,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// How many applications a page lists.
const PAGE: i64 = 50;

async fn apps_page(mut r: ConsoleRequest, status: StatusCode, cursor: Option<&str>, form: &NewAppForm) -> Response {
    let (rows, status) = match r.admin().applications().list(&r.who, cursor, PAGE).await {
        Ok(rows) => (rows, status),
        Err(e) => (Vec::new(), r.refused(e)),
    };
    let next = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|a| format!("/console/applications?cursor={}", encode(a.client_id.as_str())))
        })
        .flatten();
    let service_roles = r
        .admin()
        .roles()
        .list(&r.who)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|role| role.scope == RoleScope::Staff)
        .map(|role| {
            let name = role.name.to_string();
            let chosen = form.service_role.as_deref() == Some(name.as_str());
            (name.clone(), name, chosen)
        })
        .collect();
    let ui = r.ui.clone();
    let view = AppsPage {
        ui: &ui,
        title: ui.c_applications,
        rows: rows.iter().map(|a| app_row(&ui, a)).collect(),
        next,
        may_create: r.who.check("applications:create", None).is_ok(),
        service_roles,
        form,
        c: &r.at("applications"),
    };
    r.show(status, &view)
}

/// `GET /console/applications`.
pub async fn list(mut r: ConsoleRequest, Query(q): Query<ListQuery>) -> Response {
    r.said(q.done.as_deref());
    apps_page(r, StatusCode::OK, q.cursor.as_deref(), &NewAppForm::default()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAppForm {
    csrf: Option<String>,
    #[serde(flatten)]
    fields: AppFields,
    public: Option<String>,
    service_role: Option<String>,
}

#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    note: String,
    client_id: &'a str,
    secret: &'a str,
}

fn secret_page(r: ConsoleRequest, status: StatusCode, app: &Application, secret: &str) -> Response {
    let ui = r.ui.clone();
    let view = SecretPage {
        ui: &ui,
        title: &app.name,
        note: ui.fill(ui.c_secret_once, &[("name", &app.name)]),
        client_id: app.client_id.as_str(),
        secret,
        c: &r.at("applications"),
    };
    r.show(status, &view)
}

/// `POST /console/applications`: registers an application (`POST /admin/v1/applications`); a
/// confidential one's secret is shown this once.
pub async fn create(mut r: ConsoleRequest, Form(form): Form<NewAppForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let fields = &form.fields;
    let input = NewApplication {
        name: fields.name.clone().unwrap_or_default(),
        redirect_uris: lines(fields.redirect_uris.as_deref()),
        post_logout_redirect_uris: lines(fields.post_logout_redirect_uris.as_deref()),
        grants: fields.grants(),
        scopes: lines(fields.scopes.as_deref()),
        public: on(&form.public),
        first_party: on(&fields.first_party),
        introspect: on(&fields.introspect),
        role: form.service_role.clone().filter(|s| !s.is_empty()),
        ..NewApplication::default()
    };
    match r.admin().applications().register(&r.who, input).await {
        Ok((app, Some(secret))) => secret_page(r, StatusCode::CREATED, &app, secret.expose()),
        Ok((app, None)) => done(
            &format!("/console/applications/{}", encode(app.client_id.as_str())),
            "created",
        ),
        Err(e) => {
            let status = r.refused(e);
            apps_page(r, status, None, &form).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/application.html")]
struct AppPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    app: AppRow,
    confidential: bool,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    scopes: String,
    introspect: bool,
    service_role: String,
    may_update: bool,
    /// `(field, grant, allowed)` of each grant.
    grants: Vec<(&'static str, &'static str, bool)>,
}

async fn app_page(r: ConsoleRequest, id: &str, status: StatusCode) -> Response {
    let app = match r.admin().applications().application(&r.who, id).await {
        Ok(app) => app,
        Err(e) => return failed(&r, e),
    };
    let ui = r.ui.clone();
    let join = |uris: &[crate::model::redirect_uri::RedirectUri]| {
        uris.iter().map(|u| u.as_str()).collect::<Vec<_>>().join("\n")
    };
    let view = AppPage {
        ui: &ui,
        title: &app.name,
        app: app_row(&ui, &app),
        confidential: app.secret_hash.is_some(),
        redirect_uris: join(&app.redirect_uris),
        post_logout_redirect_uris: join(&app.post_logout_redirect_uris),
        scopes: app.scopes.to_string(),
        introspect: app.may_introspect,
        service_role: app.service_role.as_ref().map(ToString::to_string).unwrap_or_default(),
        may_update: r.who.check("applications:update", None).is_ok(),
        grants: [
            ("g-code", GrantType::AuthorizationCode),
            ("g-refresh", GrantType::RefreshToken),
            ("g-cc", GrantType::ClientCredentials),
            ("g-password", GrantType::Password),
        ]
        .into_iter()
        .map(|(id, g)| (id, g.as_str(), app.allows_grant(g)))
        .collect(),
        c: &r.at("applications"),
    };
    r.show(status, &view)
}

/// `GET /console/applications/{id}`.
pub async fn show(mut r: ConsoleRequest, Path(id): Path<String>, Query(d): Query<Done>) -> Response {
    r.said(d.done.as_deref());
    app_page(r, &id, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AppForm {
    csrf: Option<String>,
    action: Option<String>,
    confirmed: Option<String>,
    #[serde(flatten)]
    fields: AppFields,
    enabled: Option<String>,
}

/// `POST /console/applications/{id}`: change, new secret, or delete.
pub async fn act(mut r: ConsoleRequest, Path(id): Path<String>, Form(form): Form<AppForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let action = form.action.clone().unwrap_or_default();
    let question = match action.as_str() {
        "rotate" => Some(r.ui.c_confirm_rotate),
        "delete" => Some(r.ui.c_confirm_delete_app),
        _ => None,
    };
    if let Some(text) = question
        && form.confirmed.as_deref() != Some("yes")
    {
        let app = match r.admin().applications().application(&r.who, &id).await {
            Ok(app) => app,
            Err(e) => return failed(&r, e),
        };
        let ui = r.ui.clone();
        let view = ConfirmPage {
            ui: &ui,
            title: ui.c_confirm_title,
            question: ui.fill(text, &[("name", &app.name)]),
            action: format!("/console/applications/{}", encode(&id)),
            fields: vec![("action", action.clone())],
            back: format!("/console/applications/{}", encode(&id)),
            c: &r.at("applications"),
        };
        return r.show(StatusCode::OK, &view);
    }
    let result = {
        let admin = r.admin();
        let apps = admin.applications();
        match action.as_str() {
            // The console's own application only turns on and off.
            "update" if id == crate::identity::admin::CONSOLE_CLIENT_ID => {
                let change = ApplicationChange {
                    enabled: Some(on(&form.enabled)),
                    ..ApplicationChange::default()
                };
                apps.change_application(&r.who, &id, change).await.map(|_| None)
            }
            "update" => {
                let fields = &form.fields;
                let change = ApplicationChange {
                    name: fields.name.clone(),
                    grant_types: Some(fields.grants()),
                    redirect_uris: Some(lines(fields.redirect_uris.as_deref())),
                    post_logout_redirect_uris: Some(lines(fields.post_logout_redirect_uris.as_deref())),
                    scopes: Some(lines(fields.scopes.as_deref())),
                    first_party: Some(on(&fields.first_party)),
                    introspect: Some(on(&fields.introspect)),
                    enabled: Some(on(&form.enabled)),
                    ..ApplicationChange::default()
                };
                apps.change_application(&r.who, &id, change).await.map(|_| None)
            }
            "rotate" => apps.rotate_secret(&r.who, &id).await.map(Some),
            "delete" => apps.delete_application(&r.who, &id).await.map(|()| None),
            _ => Err(AdminError::Invalid {
                field: "action",
                message: format!("{:?} is not an action on an application", short(&action)),
            }),
        }
    };
    // This node's cached copy goes at once (others within the cache's lifetime), as at the API.
    crate::http::admin::applications::forget(&r.state, &id);
    match result {
        Ok(Some((app, secret))) => secret_page(r, StatusCode::OK, &app, secret.expose()),
        Ok(None) if action == "delete" => done("/console/applications", "deleted"),
        Ok(None) => done(&format!("/console/applications/{}", encode(&id)), "saved"),
        Err(e) => {
            let status = r.refused(e);
            app_page(r, &id, status).await
        }
    }
}
