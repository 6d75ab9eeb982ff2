//! `GET /admin/v1/audit`: audit records, newest first, with filters and a cursor. An account's
//! admins see only their own account's records; staff with `audit:read` see all.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use super::{AdminRequest, bad_body, text_filter};
use crate::audit::StoredAudit;
use crate::identity::admin::AdminError;
use crate::model::account::AccountId;
use crate::store::AuditFilter;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    client_id: Option<String>,
    action: Option<String>,
    actor_id: Option<String>,
    target_id: Option<String>,
    outcome: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
}

fn view(row: &StoredAudit) -> Value {
    let r = &row.record;
    json!({
        "id": row.id,
        "occurred_at": r.occurred_at.format(&Rfc3339).unwrap_or_default(),
        "actor_type": r.actor_type.as_str(),
        "actor_id": r.actor_id,
        "client_id": r.client_id,
        "ip": r.ip,
        "user_agent": r.user_agent,
        "action": r.action,
        "target_type": r.target_type,
        "target_id": r.target_id,
        "outcome": r.outcome.as_str(),
        "details": r.details,
    })
}

/// Rationed like every admin route (`AdminRequest` counts the caller's budget).
#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "Audit records, newest first", body = crate::http::openapi::AuditPage)))]
pub async fn list(r: AdminRequest, query: Result<Query<AuditQuery>, QueryRejection>) -> Response {
    let Ok(Query(q)) = query else {
        return bad_body("query", "malformed or repeated parameters");
    };
    let account = match q.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => match AccountId::parse(c) {
            Ok(id) => Some(id),
            Err(_) => {
                return bad_body("client_id", "must be a B2B account uuid");
            }
        },
        None => None,
    };
    let texts = || -> Result<_, AdminError> {
        Ok((
            text_filter("action", q.action)?,
            text_filter("actor_id", q.actor_id)?,
            text_filter("target_id", q.target_id)?,
            text_filter("outcome", q.outcome)?,
        ))
    };
    let (action, actor_id, target_id, outcome) = match texts() {
        Ok(texts) => texts,
        Err(refused) => return refused.into_response(),
    };
    let filter = AuditFilter {
        account,
        action,
        actor_id,
        target_id,
        outcome,
        before: q.cursor,
    };
    match r.admin().audit_trail().search(&r.who, filter, q.limit).await {
        Ok((rows, next)) => {
            let items: Vec<Value> = rows.iter().map(view).collect();
            Json(json!({ "items": items, "next_cursor": next })).into_response()
        }
        Err(e) => e.into_response(),
    }
}
