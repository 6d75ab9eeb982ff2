//! `/admin/v1/users/…`: read, block, unblock, change role.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::Admin;
use crate::app::AppState;
use crate::http::extract::request_context;
use crate::identity::account::AccountId;
use crate::identity::account_self::ProfileChange;
use crate::identity::admin::users::UserAdmin;
use crate::identity::admin::{AdminError, NewUser};
use crate::identity::user::{UserId, UserStatus};
use crate::store::UserFilter;

/// The administration services for one request.
pub(super) fn admin<'a>(state: &'a AppState, peer: SocketAddr, headers: &HeaderMap) -> UserAdmin<'a> {
    UserAdmin {
        db: state.stores.db.as_ref(),
        hot: state.stores.hot.as_ref(),
        clock: state.clock.as_ref(),
        audit: &state.provider.audit,
        source: &state.provider.issuer,
        ctx: request_context(peer, headers),
    }
}

fn respond(result: Result<crate::identity::user::User, AdminError>) -> Response {
    match result {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn read(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).get(&who, &id).await)
}

pub async fn block(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).block(&who, &id).await)
}

pub async fn unblock(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).unblock(&who, &id).await)
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return AdminError::Invalid {
            field: "role",
            message: "expected a JSON body {\"role\": \"…\"}".into(),
        }
        .into_response();
    };
    respond(admin(&state, peer, &headers).change_role(&who, &id, &body.role).await)
}

/// `POST /admin/v1/users`. No `Debug`: it holds the password.
#[derive(Deserialize)]
pub struct CreateBody {
    username: String,
    password: String,
    role: String,
    /// The B2B account (uuid or slug); account admins default to their own.
    client_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return AdminError::Invalid {
            field: "body",
            message: "expected JSON with username, password and role".into(),
        }
        .into_response();
    };
    let input = NewUser {
        username: body.username,
        password: SecretString::from(body.password),
        role: body.role,
        client: body.client_id,
        email: body.email,
        phone: body.phone,
        name: body.name,
    };
    match admin(&state, peer, &headers)
        .create(&who, input, state.config.bcrypt_cost)
        .await
    {
        Ok(user) => (StatusCode::CREATED, Json(user.view())).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).sign_out_everywhere(&who, &id).await)
}

pub async fn grant_permission(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path((id, permission)): Path<(String, String)>,
) -> Response {
    respond(
        admin(&state, peer, &headers)
            .set_permission(&who, &id, &permission, true)
            .await,
    )
}

pub async fn revoke_permission(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path((id, permission)): Path<(String, String)>,
) -> Response {
    respond(
        admin(&state, peer, &headers)
            .set_permission(&who, &id, &permission, false)
            .await,
    )
}

/// `GET /admin/v1/users` query: filters and the cursor.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    client_id: Option<String>,
    role: Option<String>,
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return AdminError::Invalid {
            field: "query",
            message: "malformed or repeated parameters".into(),
        }
        .into_response();
    };
    let invalid = |field: &'static str, message: &str| {
        AdminError::Invalid {
            field,
            message: message.into(),
        }
        .into_response()
    };
    let account = match q.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match AccountId::parse(c) {
            Ok(id) => Some(id),
            Err(_) => return invalid("client_id", "must be a B2B account uuid"),
        },
        None => None,
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match UserId::parse(c) {
            Ok(id) => Some(id),
            Err(_) => return invalid("cursor", "is not a cursor this API returned"),
        },
        None => None,
    };
    if let Some(status) = q.status.as_deref()
        && UserStatus::parse(status).is_err()
    {
        return invalid("status", "must be active, blocked or deleted");
    }
    let filter = UserFilter {
        account,
        role: q.role,
        status: q.status,
        query: q.q.filter(|s| !s.is_empty()),
        after,
    };
    match admin(&state, peer, &headers).list(&who, filter, q.limit).await {
        Ok((users, next)) => {
            let items: Vec<_> = users.iter().map(|u| u.view()).collect();
            Json(serde_json::json!({ "items": items, "next_cursor": next })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn update(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
    body: Result<Json<ProfileChange>, JsonRejection>,
) -> Response {
    let Ok(Json(change)) = body else {
        return AdminError::Invalid {
            field: "body",
            message: "expected JSON with name, email or phone".into(),
        }
        .into_response();
    };
    respond(admin(&state, peer, &headers).update_profile(&who, &id, change).await)
}

pub async fn delete(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Response {
    respond(admin(&state, peer, &headers).delete(&who, &id).await)
}
