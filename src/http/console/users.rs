//! `/console/users`: the users an administrator may see (an account's admins: their own
//! account's), with search, filters and paging; a new user; one user's page with its profile,
//! role, extra permissions and the actions block, unblock, unlock, reset second factors, sign
//! out everywhere and delete. Each goes through [`crate::identity::admin::services::UserAdmin`].

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Choices, Chrome, ConfirmPage, ConsoleRequest, Done, done, encode, failed, short};
use crate::http::ui::Ui;
use crate::identity::account_self::ProfileChange;
use crate::identity::admin::{AdminError, NewUser};
use crate::model::account::AccountId;
use crate::model::user::{User, UserId, UserStatus};
use crate::store::UserFilter;

/// How many users a page lists.
const PAGE: i64 = 25;

pub struct UserRow {
    id: String,
    username: String,
    email: String,
    role: String,
    status: &'static str,
    account: String,
}

/// A user's status in words.
pub fn status_words(ui: &Ui, status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => ui.c_status_active,
        UserStatus::Blocked => ui.c_status_blocked,
        UserStatus::Deleted => ui.c_status_deleted,
    }
}

fn row(ui: &Ui, user: &User, accounts: &Choices) -> UserRow {
    let account = user.client_id.map(|a| a.to_string()).unwrap_or_default();
    let account = accounts
        .iter()
        .find(|(id, _, _)| *id == account)
        .map_or(account, |(_, name, _)| name.clone());
    UserRow {
        id: user.id.to_string(),
        username: user.username.to_string(),
        email: user.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
        role: user.role.to_string(),
        status: status_words(ui, user.status),
        account,
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    q: &'a str,
    roles: Choices,
    statuses: Choices,
    /// The accounts to filter by (staff only).
    accounts: Choices,
    staff: bool,
    rows: Vec<UserRow>,
    next: Option<String>,
    first: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    role: Option<String>,
    status: Option<String>,
    client_id: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// The roles the principal may see, as choices (`chosen`: the one named).
async fn role_choices(r: &ConsoleRequest, chosen: Option<&str>) -> Choices {
    let roles = r.admin().roles().list(&r.who).await.unwrap_or_default();
    roles
        .into_iter()
        .map(|role| {
            let name = role.name.to_string();
            let words = format!("{name} — {}", role.description);
            let on = chosen == Some(name.as_str());
            (name, words, on)
        })
        .collect()
}

/// The accounts in reach as choices: staff all (the first 200), an account's admins theirs.
async fn account_choices(r: &ConsoleRequest, chosen: Option<&str>) -> Choices {
    let accounts = r
        .admin()
        .accounts()
        .list(&r.who, None, Some(200))
        .await
        .unwrap_or_default();
    accounts
        .into_iter()
        .map(|a| {
            let id = a.id.to_string();
            let on = chosen == Some(id.as_str());
            (id, a.name, on)
        })
        .collect()
}

fn status_choices(ui: &Ui, chosen: Option<&str>) -> Choices {
    [UserStatus::Active, UserStatus::Blocked, UserStatus::Deleted]
        .into_iter()
        .map(|s| {
            let on = chosen == Some(s.as_str());
            (s.as_str().to_owned(), status_words(ui, s).to_owned(), on)
        })
        .collect()
}

/// A filter value as typed: empty is none; a bad one is refused by the service's rules.
fn filter_text(field: &'static str, value: Option<&str>) -> Result<Option<String>, AdminError> {
    crate::http::admin::text_filter(field, value.map(str::to_owned))
}

fn user_filter(q: &ListQuery) -> Result<UserFilter, AdminError> {
    let bad = |field: &'static str, message: &str| AdminError::Invalid {
        field,
        message: message.into(),
    };
    let account = match q.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(AccountId::parse(c).map_err(|_| bad("client_id", "must be a B2B account uuid"))?),
        None => None,
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(UserId::parse(c).map_err(|_| bad("cursor", "is not a cursor this page made"))?),
        None => None,
    };
    let status = q.status.clone().filter(|s| !s.is_empty());
    if let Some(s) = status.as_deref()
        && UserStatus::parse(s).is_err()
    {
        return Err(bad("status", "must be active, blocked or deleted"));
    }
    Ok(UserFilter {
        account,
        role: filter_text("role", q.role.as_deref())?,
        status,
        query: filter_text("q", q.q.as_deref())?,
        after,
    })
}

/// The list's address with these filters and `cursor`.
fn list_href(q: &ListQuery, cursor: Option<&str>) -> String {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let (query, role, status, account) = (value(&q.q), value(&q.role), value(&q.status), value(&q.client_id));
    let params = [
        ("q", query.as_str()),
        ("role", role.as_str()),
        ("status", status.as_str()),
        ("client_id", account.as_str()),
        ("cursor", cursor.unwrap_or_default()),
    ];
    super::href("/console/users", &params)
}

/// `GET /console/users`.
pub async fn list(
    mut r: ConsoleRequest,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return super::bad_query(&r);
    };
    r.said(q.done.as_deref());
    let (rows, next, status) = match user_filter(&q) {
        Ok(filter) => match r.admin().users().list(&r.who, filter, Some(PAGE)).await {
            Ok((users, next)) => (users, next, StatusCode::OK),
            Err(e) => (Vec::new(), None, r.refused(e)),
        },
        Err(e) => (Vec::new(), None, r.refused(e)),
    };
    let accounts = account_choices(&r, q.client_id.as_deref()).await;
    let roles = role_choices(&r, q.role.as_deref()).await;
    let ui = r.ui.clone();
    let rows = rows.iter().map(|u| row(&ui, u, &accounts)).collect();
    let view = UsersPage {
        ui: &ui,
        title: ui.c_users,
        q: q.q.as_deref().unwrap_or_default(),
        roles,
        statuses: status_choices(&ui, q.status.as_deref()),
        rows,
        next: next.map(|c| list_href(&q, Some(&c))),
        first: q.cursor.is_some().then(|| list_href(&q, None)),
        accounts,
        staff: r.who.account.is_none(),
        c: &r.at("users"),
    };
    r.show(status, &view)
}

#[derive(Template)]
#[template(path = "console/user_new.html")]
struct NewUserPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    roles: Choices,
    accounts: Choices,
    staff: bool,
    username: &'a str,
    email: &'a str,
    phone: &'a str,
    name: &'a str,
    min: usize,
}

/// No `Debug`: it holds the password.
#[derive(Default, Deserialize)]
pub struct NewUserForm {
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    role: Option<String>,
    client_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
}

async fn new_page(r: ConsoleRequest, status: StatusCode, form: &NewUserForm) -> Response {
    // An account's admins see only account roles (`RoleAdmin::list`): the ones they may hand out.
    let roles = role_choices(&r, form.role.as_deref()).await;
    let accounts = account_choices(&r, form.client_id.as_deref()).await;
    let ui = r.ui.clone();
    let view = NewUserPage {
        ui: &ui,
        title: ui.c_new_user,
        roles,
        accounts,
        staff: r.who.account.is_none(),
        username: form.username.as_deref().unwrap_or_default(),
        email: form.email.as_deref().unwrap_or_default(),
        phone: form.phone.as_deref().unwrap_or_default(),
        name: form.name.as_deref().unwrap_or_default(),
        min: crate::model::password::MIN_CHARS,
        c: &r.at("users"),
    };
    r.show(status, &view)
}

/// `GET /console/users/new`.
pub async fn new_form(r: ConsoleRequest) -> Response {
    new_page(r, StatusCode::OK, &NewUserForm::default()).await
}

/// `POST /console/users`: creates the user (`POST /admin/v1/users`).
pub async fn create(mut r: ConsoleRequest, Form(form): Form<NewUserForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let input = NewUser {
        username: form.username.clone().unwrap_or_default(),
        password: SecretString::from(form.password.clone().unwrap_or_default()),
        role: form.role.clone().unwrap_or_default(),
        client: given(&form.client_id),
        email: given(&form.email),
        phone: given(&form.phone),
        name: given(&form.name),
        profile: serde_json::Map::new(),
    };
    let cost = r.state.config.bcrypt_cost;
    match r.admin().users().create(&r.who, input, cost).await {
        Ok(user) => done(&format!("/console/users/{}", user.id), "created"),
        Err(e) => {
            let status = r.refused(e);
            new_page(r, status, &form).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    user: UserRow,
    name: String,
    phone: String,
    email_verified: bool,
    phone_verified: bool,
    created: String,
    roles: Choices,
    permissions: Vec<String>,
    blocked: bool,
    deleted: bool,
}

async fn user_page(r: ConsoleRequest, id: &str, status: StatusCode) -> Response {
    let user = match r.admin().users().get(&r.who, id).await {
        Ok(user) => user,
        Err(e) => return failed(&r, e),
    };
    // The user's account, for its name (one read, not the list of every account).
    let account = match user.client_id {
        Some(id) => r.admin().accounts().account(&r.who, &id.to_string()).await.ok(),
        None => None,
    };
    let accounts: Choices = account.into_iter().map(|a| (a.id.to_string(), a.name, false)).collect();
    let roles = role_choices(&r, Some(user.role.as_str())).await;
    let ui = r.ui.clone();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let view = UserPage {
        ui: &ui,
        title: user.username.as_str(),
        user: row(&ui, &user, &accounts),
        name: user.name.clone().unwrap_or_default(),
        phone: user.phone.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        email_verified: user.email_verified,
        phone_verified: user.phone_verified,
        created: user.created_at.format(&format).unwrap_or_default(),
        roles,
        permissions: user.permissions.iter().map(ToString::to_string).collect(),
        blocked: user.status == UserStatus::Blocked,
        deleted: user.status == UserStatus::Deleted,
        c: &r.at("users"),
    };
    r.show(status, &view)
}

/// `GET /console/users/{id}`.
pub async fn show(mut r: ConsoleRequest, Path(id): Path<String>, Query(d): Query<Done>) -> Response {
    r.said(d.done.as_deref());
    user_page(r, &id, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    action: Option<String>,
    confirmed: Option<String>,
    role: Option<String>,
    permission: Option<String>,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

/// The question a destructive action asks first, if it is one.
fn question(ui: &Ui, action: &str, username: &str, form: &UserForm) -> Option<String> {
    let text = match action {
        "block" => ui.c_confirm_block,
        "reset_factors" => ui.c_confirm_reset_factors,
        "logout" => ui.c_confirm_logout,
        "delete" => ui.c_confirm_delete,
        "revoke" => ui.c_confirm_revoke,
        _ => return None,
    };
    let permission = form.permission.as_deref().unwrap_or_default();
    Some(ui.fill(text, &[("name", username), ("permission", permission)]))
}

/// `POST /console/users/{id}`: one action on the user, named by `action`.
pub async fn act(mut r: ConsoleRequest, Path(id): Path<String>, Form(form): Form<UserForm>) -> Response {
    if let Some(refused) = r.forged(form.csrf.as_deref()) {
        return refused;
    }
    let action = form.action.clone().unwrap_or_default();
    if form.confirmed.as_deref() != Some("yes")
        && let Some(username) = question_target(&r, &id, &action).await
        && let Some(question) = question(&r.ui, &action, &username, &form)
    {
        let ui = r.ui.clone();
        let mut fields = vec![("action", action.clone())];
        if let Some(p) = &form.permission {
            fields.push(("permission", p.clone()));
        }
        let view = ConfirmPage {
            ui: &ui,
            title: ui.c_confirm_title,
            question,
            action: format!("/console/users/{}", encode(&id)),
            fields,
            back: format!("/console/users/{}", encode(&id)),
            c: &r.at("users"),
        };
        return r.show(StatusCode::OK, &view);
    }
    let result = {
        let admin = r.admin();
        let users = admin.users();
        let who = &r.who;
        match action.as_str() {
            "profile" => {
                let change = ProfileChange {
                    name: form.name.clone().filter(|n| !n.trim().is_empty()),
                    email: form.email.clone(),
                    phone: form.phone.clone(),
                    profile: None,
                };
                users.update_profile(who, &id, change).await.map(|_| "saved")
            }
            "role" => {
                let role = form.role.clone().unwrap_or_default();
                users.change_role(who, &id, &role).await.map(|_| "role")
            }
            "grant" | "revoke" => {
                let permission = form.permission.clone().unwrap_or_default();
                let on = action == "grant";
                users
                    .set_permission(who, &id, permission.trim(), on)
                    .await
                    .map(|_| if on { "granted" } else { "revoked" })
            }
            "block" => users.block(who, &id).await.map(|_| "blocked"),
            "unblock" => users.unblock(who, &id).await.map(|_| "unblocked"),
            "unlock" => users.unlock(who, &id).await.map(|_| "unlocked"),
            "reset_factors" => users.reset_factors(who, &id).await.map(|_| "factors"),
            "logout" => users.sign_out_everywhere(who, &id).await.map(|_| "signed_out"),
            "delete" => users.delete(who, &id).await.map(|_| "deleted"),
            _ => Err(AdminError::Invalid {
                field: "action",
                message: format!("{:?} is not an action on a user", short(&action)),
            }),
        }
    };
    match result {
        Ok("deleted") => done("/console/users", "deleted"),
        Ok(what) => done(&format!("/console/users/{}", encode(&id)), what),
        Err(e) => {
            let status = r.refused(e);
            user_page(r, &id, status).await
        }
    }
}

/// The username an action's question names: the user must be in reach, else the action itself
/// answers (with the service's refusal).
async fn question_target(r: &ConsoleRequest, id: &str, action: &str) -> Option<String> {
    if !matches!(action, "block" | "reset_factors" | "logout" | "delete" | "revoke") {
        return None;
    }
    // Without users:read the question names the id: it is asked all the same.
    Some(match r.admin().users().get(&r.who, id).await {
        Ok(user) => user.username.to_string(),
        Err(_) => short(id),
    })
}
