//! `/admin/v1/users/…`: read, block, unblock, change role.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde::Deserialize;

use super::{AdminRequest, bad_body, text_filter};
use crate::identity::account_self::ProfileChange;
use crate::identity::admin::{AdminError, NewUser};
use crate::model::account::AccountId;
use crate::model::user::{UserId, UserStatus};
use crate::store::UserFilter;

fn respond(result: Result<crate::model::user::User, AdminError>) -> Response {
    match result {
        Ok(user) => Json(user.view()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/admin/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "The user", body = crate::model::user::UserView)))]
pub async fn read(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().get(&r.who, &id).await)
}

#[utoipa::path(post, path = "/admin/v1/users/{id}/block", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "Blocked: every session and token ends", body = crate::model::user::UserView)))]
pub async fn block(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().block(&r.who, &id).await)
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/factors", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 204, description = "Every second factor and recovery code removed")))]
pub async fn reset_factors(r: AdminRequest, Path(id): Path<String>) -> Response {
    match r.admin().users().reset_factors(&r.who, &id).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/admin/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "Sign-in locks lifted", body = crate::model::user::UserView)))]
pub async fn unlock(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().unlock(&r.who, &id).await)
}

#[utoipa::path(post, path = "/admin/v1/users/{id}/unblock", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "Unblocked", body = crate::model::user::UserView)))]
pub async fn unblock(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().unblock(&r.who, &id).await)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleBody {
    role: String,
}

#[utoipa::path(put, path = "/admin/v1/users/{id}/role", tag = "users", params(("id" = String, Path, description = "The user's id")), request_body = RoleBody, responses((status = 200, description = "The role changed; earlier tokens end", body = crate::model::user::UserView)))]
pub async fn change_role(
    r: AdminRequest,
    Path(id): Path<String>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_body("role", "expected a JSON body {\"role\": \"…\"}");
    };
    respond(r.admin().users().change_role(&r.who, &id, &body.role).await)
}

/// A new user.
// No `Debug`: it holds the password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateBody {
    username: String,
    password: String,
    role: String,
    /// The B2B account (uuid or slug); account admins default to their own.
    client_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    /// OpenID Connect profile fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    profile: serde_json::Map<String, serde_json::Value>,
}

#[utoipa::path(post, path = "/admin/v1/users", tag = "users", request_body = CreateBody, responses((status = 201, description = "Created", body = crate::model::user::UserView)))]
pub async fn create(r: AdminRequest, body: Result<Json<CreateBody>, JsonRejection>) -> Response {
    let Ok(Json(body)) = body else {
        return bad_body("body", "expected JSON with username, password and role");
    };
    let input = NewUser {
        username: body.username,
        password: SecretString::from(body.password),
        role: body.role,
        client: body.client_id,
        email: body.email,
        phone: body.phone,
        name: body.name,
        profile: body.profile,
    };
    match r
        .admin()
        .users()
        .create(&r.who, input, r.state.config.bcrypt_cost)
        .await
    {
        Ok(user) => (StatusCode::CREATED, Json(user.view())).into_response(),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(post, path = "/admin/v1/users/{id}/logout", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "Every session and token of the user ended", body = crate::model::user::UserView)))]
pub async fn sign_out_everywhere(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().sign_out_everywhere(&r.who, &id).await)
}

#[utoipa::path(put, path = "/admin/v1/users/{id}/permissions/{permission}", tag = "users", params(("id" = String, Path, description = "The user's id"), ("permission" = String, Path, description = "resource:action")), responses((status = 200, description = "Granted", body = crate::model::user::UserView)))]
pub async fn grant_permission(r: AdminRequest, Path((id, permission)): Path<(String, String)>) -> Response {
    respond(r.admin().users().set_permission(&r.who, &id, &permission, true).await)
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}/permissions/{permission}", tag = "users", params(("id" = String, Path, description = "The user's id"), ("permission" = String, Path, description = "resource:action")), responses((status = 200, description = "Revoked", body = crate::model::user::UserView)))]
pub async fn revoke_permission(r: AdminRequest, Path((id, permission)): Path<(String, String)>) -> Response {
    respond(r.admin().users().set_permission(&r.who, &id, &permission, false).await)
}

/// `GET /admin/v1/users` query: filters and the cursor.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    client_id: Option<String>,
    role: Option<String>,
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/admin/v1/users", tag = "users", params(ListQuery), responses((status = 200, description = "A page of users the caller may see", body = crate::http::openapi::UserPage)))]
pub async fn list(
    r: AdminRequest,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(q)) = query else {
        return bad_body("query", "malformed or repeated parameters");
    };
    let account = match q.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match AccountId::parse(c) {
            Ok(id) => Some(id),
            Err(_) => return bad_body("client_id", "must be a B2B account uuid"),
        },
        None => None,
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match UserId::parse(c) {
            Ok(id) => Some(id),
            Err(_) => return bad_body("cursor", "is not a cursor this API returned"),
        },
        None => None,
    };
    if let Some(status) = q.status.as_deref()
        && UserStatus::parse(status).is_err()
    {
        return bad_body("status", "must be active, blocked or deleted");
    }
    let (role, query) = match (text_filter("role", q.role), text_filter("q", q.q)) {
        (Ok(role), Ok(query)) => (role, query),
        (Err(refused), _) | (_, Err(refused)) => return refused.into_response(),
    };
    let filter = UserFilter {
        account,
        role,
        status: q.status,
        query,
        after,
    };
    match r.admin().users().list(&r.who, filter, q.limit).await {
        Ok((users, next)) => {
            let items: Vec<_> = users.iter().map(|u| u.view()).collect();
            Json(serde_json::json!({ "items": items, "next_cursor": next })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(patch, path = "/admin/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id")), request_body = crate::identity::account_self::ProfileChange, responses((status = 200, description = "Changed", body = crate::model::user::UserView)))]
pub async fn update(
    r: AdminRequest,
    Path(id): Path<String>,
    body: Result<Json<ProfileChange>, JsonRejection>,
) -> Response {
    let Ok(Json(change)) = body else {
        return bad_body("body", "expected JSON with name, email, phone or profile");
    };
    respond(r.admin().users().update_profile(&r.who, &id, change).await)
}

#[utoipa::path(delete, path = "/admin/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id")), responses((status = 200, description = "Deleted: personal data erased, the row kept for the audit trail", body = crate::model::user::UserView)))]
pub async fn delete(r: AdminRequest, Path(id): Path<String>) -> Response {
    respond(r.admin().users().delete(&r.who, &id).await)
}
