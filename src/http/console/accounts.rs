//! `/console/accounts`: B2B accounts — staff list and create them, and on an account's page
//! rename it, set its second-factor policy, suspend or resume it; an account's admins see their
//! own. The account's page also lists its identity providers and, for those who may, adds,
//! turns on or off and deletes them. `/console/roles`: the roles and their permissions.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, ConfirmPage, ConsoleRequest, Done, done, encode, failed, short};
use crate::http::ui::Ui;
use crate::identity::admin::accounts::AccountChange;
use crate::identity::admin::idps::IdpInput;
use crate::identity::admin::roles::RoleInput;
use crate::identity::admin::{AdminError, NewAccount};
use crate::model::account::{Account, AccountId, AccountStatus};
use crate::model::role::RoleScope;

pub struct AccountRow {
    id: String,
    name: String,
    slug: String,
    status: &'static str,
    mfa_required: bool,
}

fn status_words(ui: &Ui, status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => ui.c_status_active,
        AccountStatus::Suspended => ui.c_status_suspended,
        AccountStatus::Deleted => ui.c_status_deleted,
    }
}

fn account_row(ui: &Ui, a: &Account) -> AccountRow {
    AccountRow {
        id: a.id.to_string(),
        name: a.name.clone(),
        slug: a.slug.to_string(),
        status: status_words(ui, a.status),
        mfa_required: a.mfa_required,
    }
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    rows: Vec<AccountRow>,
    may_create: bool,
    next: Option<String>,
    name: &'a str,
    slug: &'a str,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// How many accounts a page lists.
const PAGE: i64 = 50;

async fn accounts_page(mut r: ConsoleRequest, status: StatusCode, q: &ListQuery, form: &NewAccountForm) -> Response {
    let after = q.cursor.as_deref().and_then(|c| AccountId::parse(c).ok());
    let (rows, mut status) = match r.admin().accounts().list(&r.who, after, Some(PAGE)).await {
        Ok(rows) => (rows, status),
        Err(e) => (Vec::new(), r.refused(e)),
    };
    if status == StatusCode::OK && r.chrome.error.is_some() {
        status = StatusCode::BAD_REQUEST;
    }
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|a| format!("/console/accounts?cursor={}", a.id)))
        .flatten();
    let ui = r.ui.clone();
    let may_create = r.who.check("clients:create", None).is_ok();
    let view = AccountsPage {
        ui: &ui,
        title: ui.c_accounts,
        rows: rows.iter().map(|a| account_row(&ui, a)).collect(),
        may_create,
        next,
        name: form.name.as_deref().unwrap_or_default(),
        slug: form.slug.as_deref().unwrap_or_default(),
        c: &r.at("accounts"),
    };
    r.show(status, &view)
}

/// `GET /console/accounts`.
pub async fn list(mut r: ConsoleRequest, Query(q): Query<ListQuery>) -> Response {
    // An account's admins have one account: theirs.
    if let Some(own) = r.who.account {
        return super::super::browser::redirect(&format!("/console/accounts/{own}"), &[]);
    }
    r.said(q.done.as_deref());
    accounts_page(r, StatusCode::OK, &q, &NewAccountForm::default()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct NewAccountForm {
    csrf: Option<String>,
    name: Option<String>,
    slug: Option<String>,
}

/// `POST /console/accounts`: creates an account (`POST /admin/v1/clients`).
pub async fn create(mut r: ConsoleRequest, Form(form): Form<NewAccountForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let input = NewAccount {
        name: form.name.clone().unwrap_or_default(),
        slug: form.slug.clone().filter(|s| !s.trim().is_empty()),
    };
    match r.admin().accounts().create_account(&r.who, input).await {
        Ok(account) => done(&format!("/console/accounts/{}", account.id), "created"),
        Err(e) => {
            let status = r.refused(e);
            accounts_page(r, status, &ListQuery::default(), &form).await
        }
    }
}

pub struct IdpRow {
    id: String,
    issuer: String,
    client_id: String,
    domains: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    account: AccountRow,
    suspended: bool,
    may_update: bool,
    /// `None`: the principal may not read the account's identity providers.
    idps: Option<Vec<IdpRow>>,
    may_add_idp: bool,
    /// Only staff set the email domains that send people to a provider.
    staff: bool,
}

async fn account_page(r: ConsoleRequest, id: &str, status: StatusCode) -> Response {
    let account = match r.admin().accounts().account(&r.who, id).await {
        Ok(a) => a,
        Err(e) => return failed(&r, e),
    };
    let key = account.id.to_string();
    let idps = r.admin().idps().list(&r.who, &key).await.ok().map(|list| {
        list.iter()
            .map(|p| IdpRow {
                id: p.id.to_string(),
                issuer: p.issuer.to_string(),
                client_id: p.client_id.clone(),
                domains: p.domains.join(", "),
                enabled: p.enabled,
            })
            .collect()
    });
    let ui = r.ui.clone();
    let staff = r.who.account.is_none();
    let view = AccountPage {
        ui: &ui,
        title: &account.name,
        account: account_row(&ui, &account),
        suspended: account.status == AccountStatus::Suspended,
        may_update: r.who.check("clients:update", None).is_ok(),
        idps,
        may_add_idp: r.who.check("identity_providers:create", Some(account.id)).is_ok(),
        staff,
        c: &r.at("accounts"),
    };
    r.show(status, &view)
}

/// `GET /console/accounts/{id}`.
pub async fn show(mut r: ConsoleRequest, Path(id): Path<String>, Query(d): Query<Done>) -> Response {
    r.said(d.done.as_deref());
    account_page(r, &id, StatusCode::OK).await
}

/// No `Debug`: it may hold an identity provider's client secret.
#[derive(Default, Deserialize)]
pub struct AccountForm {
    csrf: Option<String>,
    action: Option<String>,
    confirmed: Option<String>,
    name: Option<String>,
    mfa_required: Option<String>,
    idp: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    domains: Option<String>,
    jit: Option<String>,
}

/// `POST /console/accounts/{id}`: one action on the account or one of its identity providers.
pub async fn act(mut r: ConsoleRequest, Path(id): Path<String>, Form(form): Form<AccountForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let action = form.action.clone().unwrap_or_default();
    let destructive = matches!(action.as_str(), "suspend" | "idp_delete");
    if destructive && form.confirmed.as_deref() != Some("yes") {
        let Ok(account) = r.admin().accounts().account(&r.who, &id).await else {
            return failed(&r, AdminError::NotFound(short(&id)));
        };
        let ui = r.ui.clone();
        let (text, mut fields) = match action.as_str() {
            "suspend" => (ui.c_confirm_suspend, vec![("action", action.clone())]),
            _ => (ui.c_confirm_delete_idp, vec![("action", action.clone())]),
        };
        if let Some(idp) = &form.idp {
            fields.push(("idp", idp.clone()));
        }
        let view = ConfirmPage {
            ui: &ui,
            title: ui.c_confirm_title,
            question: ui.fill(text, &[("name", &account.name)]),
            action: format!("/console/accounts/{}", encode(&id)),
            fields,
            back: format!("/console/accounts/{}", encode(&id)),
            c: &r.at("accounts"),
        };
        return r.show(StatusCode::OK, &view);
    }
    let checked = |v: &Option<String>| Some(v.as_deref() == Some("on"));
    let result = {
        let admin = r.admin();
        let who = &r.who;
        let key = &r.state.provider.seal_key;
        let idp = form.idp.clone().unwrap_or_default();
        match action.as_str() {
            "update" => {
                let change = AccountChange {
                    name: form.name.clone(),
                    status: None,
                    mfa_required: checked(&form.mfa_required),
                };
                admin.accounts().update_account(who, &id, change).await.map(|_| "saved")
            }
            "suspend" | "resume" => {
                let status = if action == "suspend" { "suspended" } else { "active" };
                let change = AccountChange {
                    status: Some(status.into()),
                    ..AccountChange::default()
                };
                admin.accounts().update_account(who, &id, change).await.map(|_| "saved")
            }
            "idp_create" => {
                let domains: Vec<String> = form
                    .domains
                    .as_deref()
                    .unwrap_or_default()
                    .split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect();
                let input = IdpInput {
                    issuer: form.issuer.clone(),
                    client_id: form.client_id.clone(),
                    client_secret: form.client_secret.clone().filter(|s| !s.is_empty()),
                    domains: (!domains.is_empty()).then_some(domains),
                    jit: checked(&form.jit),
                    ..IdpInput::default()
                };
                admin.idps().create_idp(who, &id, key, input).await.map(|_| "created")
            }
            "idp_enable" | "idp_disable" => {
                let input = IdpInput {
                    enabled: Some(action == "idp_enable"),
                    ..IdpInput::default()
                };
                admin
                    .idps()
                    .update_idp(who, &id, &idp, key, input)
                    .await
                    .map(|_| "saved")
            }
            "idp_delete" => admin.idps().delete_idp(who, &id, &idp).await.map(|()| "deleted"),
            _ => Err(AdminError::Invalid {
                field: "action",
                message: format!("{:?} is not an action on an account", short(&action)),
            }),
        }
    };
    match result {
        Ok(what) => done(&format!("/console/accounts/{}", encode(&id)), what),
        Err(e) => {
            let status = r.refused(e);
            account_page(r, &id, status).await
        }
    }
}

pub struct RoleRow {
    name: String,
    description: String,
    scope: &'static str,
    permissions: String,
    builtin: bool,
}

#[derive(Template)]
#[template(path = "console/roles.html")]
struct RolesPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    rows: Vec<RoleRow>,
    may_create: bool,
    may_delete: bool,
}

/// `GET /console/roles`: the roles the principal may see, with their permissions.
pub async fn roles(mut r: ConsoleRequest, Query(d): Query<Done>) -> Response {
    r.said(d.done.as_deref());
    roles_page(r, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    csrf: Option<String>,
    action: Option<String>,
    confirmed: Option<String>,
    name: Option<String>,
    description: Option<String>,
    scope: Option<String>,
    permissions: Option<String>,
}

/// `POST /console/roles`: a new custom role, or deleting one (`POST`/`DELETE /admin/v1/roles`).
pub async fn role_act(mut r: ConsoleRequest, Form(form): Form<RoleForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let name = form.name.clone().unwrap_or_default();
    let result = match form.action.as_deref() {
        Some("create") => {
            let input = RoleInput {
                name: form.name.clone(),
                description: form.description.clone(),
                scope: form.scope.clone(),
                permissions: Some(
                    form.permissions
                        .as_deref()
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                ),
            };
            r.admin().roles().create_role(&r.who, input).await.map(|_| "created")
        }
        Some("delete") if form.confirmed.as_deref() != Some("yes") => {
            let ui = r.ui.clone();
            let view = ConfirmPage {
                ui: &ui,
                title: ui.c_confirm_title,
                question: ui.fill(ui.c_confirm_delete_role, &[("name", &name)]),
                action: "/console/roles".into(),
                fields: vec![("action", "delete".into()), ("name", name.clone())],
                back: "/console/roles".into(),
                c: &r.at("roles"),
            };
            return r.show(StatusCode::OK, &view);
        }
        Some("delete") => r.admin().roles().delete_role(&r.who, &name).await.map(|()| "deleted"),
        _ => Err(AdminError::Invalid {
            field: "action",
            message: "must be create or delete".into(),
        }),
    };
    match result {
        Ok(what) => done("/console/roles", what),
        Err(e) => {
            let status = r.refused(e);
            roles_page(r, status).await
        }
    }
}

async fn roles_page(mut r: ConsoleRequest, status: StatusCode) -> Response {
    let (roles, status) = match r.admin().roles().list(&r.who).await {
        Ok(roles) => (roles, status),
        Err(e) => (Vec::new(), r.refused(e)),
    };
    let ui = r.ui.clone();
    let rows = roles
        .iter()
        .map(|role| RoleRow {
            name: role.name.to_string(),
            description: role.description.clone(),
            scope: match role.scope {
                RoleScope::Staff => ui.c_scope_staff,
                RoleScope::Account => ui.c_scope_account,
            },
            permissions: role
                .permissions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            builtin: role.builtin,
        })
        .collect();
    let view = RolesPage {
        ui: &ui,
        title: ui.c_roles,
        rows,
        may_create: r.who.check("roles:create", None).is_ok(),
        may_delete: r.who.check("roles:delete", None).is_ok(),
        c: &r.at("roles"),
    };
    r.show(status, &view)
}
