//! `POST /authz/check` (DESIGN.md): `{"permission": "parcels:read", "client_id": "<account uuid>"}`
//! with the bearer token → `200 {"allowed", "reason"}`; 401 for a missing, invalid, expired or
//! revoked token, so the gateway sees a logout or a block on the next request. An optional
//! `"audience"` names the service asking: a token meant for another audience is not allowed.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::bearer::{Api, authorized};
use super::error::{json_error, no_store};
use crate::authz;
use crate::http::AppState;
use crate::model::account::AccountId;
use crate::model::permission::Permission;

#[derive(Debug, Deserialize)]
pub struct CheckRequest {
    permission: String,
    client_id: Option<String>,
    /// The audience the asking service answers to (RFC 8707 resource, or Propusk's own): a token
    /// meant for another one is not allowed there.
    audience: Option<String>,
}

pub async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CheckRequest>, JsonRejection>,
) -> Response {
    let provider = &state.provider;
    let claims = match authorized(provider, &headers, Api::AuthzCheck).await {
        Ok(bearer) => bearer.claims,
        Err(refused) => return refused,
    };
    let Ok(Json(request)) = body else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected a JSON body with permission and client_id",
        );
    };
    let Ok(permission) = Permission::parse(&request.permission) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "permission must look like resource:action",
        );
    };
    let target = match request.client_id.as_deref() {
        None | Some("") => None,
        Some(id) => match AccountId::parse(id) {
            Ok(id) => Some(id),
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "client_id must be a B2B account uuid",
                );
            }
        },
    };
    if let Some(audience) = request.audience.as_deref().filter(|a| !a.is_empty())
        && claims.aud != audience
    {
        let refused = authz::Decision {
            allowed: false,
            reason: format!("the token is meant for {}, not {audience}", claims.aud),
        };
        return no_store(Json(refused).into_response());
    }
    no_store(Json(authz::decide(&claims, &permission, target)).into_response())
}
