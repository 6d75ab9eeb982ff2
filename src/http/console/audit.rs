//! `/console/audit`: the audit trail, newest first, with filters (action, who, on what, outcome,
//! and for staff the account) and paging — what `/admin/v1/audit` returns, through the same
//! service ([`crate::identity::admin::services::AuditAdmin`]).

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Choices, Chrome, ConsoleRequest};
use crate::http::admin::text_filter;
use crate::http::ui::Ui;
use crate::identity::admin::AdminError;
use crate::model::account::AccountId;
use crate::model::audit::{Outcome, StoredAudit};
use crate::store::AuditFilter;

/// How many records a page lists.
const PAGE: i64 = 50;

pub struct AuditRow {
    when: String,
    action: String,
    actor: String,
    target: String,
    outcome: &'static str,
    from: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    ui: &'a Ui,
    c: &'a Chrome,
    title: &'a str,
    q: &'a AuditQuery,
    outcomes: Choices,
    accounts: Choices,
    rows: Vec<AuditRow>,
    next: Option<String>,
    first: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    client_id: String,
    cursor: Option<i64>,
}

fn outcome_words(ui: &Ui, outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => ui.c_outcome_success,
        Outcome::Failure => ui.c_outcome_failure,
        Outcome::Denied => ui.c_outcome_denied,
    }
}

fn audit_row(ui: &Ui, row: &StoredAudit) -> AuditRow {
    let r = &row.record;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let target = match (&r.target_type, &r.target_id) {
        (Some(t), Some(id)) => format!("{t} {id}"),
        (Some(t), None) => t.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => String::new(),
    };
    AuditRow {
        when: r.occurred_at.format(&format).unwrap_or_default(),
        action: r.action.clone(),
        actor: format!(
            "{} {}",
            r.actor_type.as_str(),
            r.actor_id.as_deref().unwrap_or_default()
        ),
        target,
        outcome: outcome_words(ui, r.outcome),
        from: r.ip.clone().unwrap_or_default(),
    }
}

fn filter(q: &AuditQuery) -> Result<AuditFilter, AdminError> {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let account = match some(&q.client_id) {
        Some(c) => Some(AccountId::parse(&c).map_err(|_| AdminError::Invalid {
            field: "client_id",
            message: "must be a B2B account uuid".into(),
        })?),
        None => None,
    };
    Ok(AuditFilter {
        account,
        action: text_filter("action", some(&q.action))?,
        actor_id: text_filter("actor_id", some(&q.actor_id))?,
        target_id: text_filter("target_id", some(&q.target_id))?,
        outcome: text_filter("outcome", some(&q.outcome))?,
        before: q.cursor,
    })
}

fn href(q: &AuditQuery, cursor: Option<i64>) -> String {
    let cursor = cursor.map(|c| c.to_string()).unwrap_or_default();
    let params = [
        ("action", q.action.as_str()),
        ("actor_id", q.actor_id.as_str()),
        ("target_id", q.target_id.as_str()),
        ("outcome", q.outcome.as_str()),
        ("client_id", q.client_id.as_str()),
        ("cursor", cursor.as_str()),
    ];
    super::href("/console/audit", &params)
}

/// `GET /console/audit`.
pub async fn list(
    mut r: ConsoleRequest,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return super::bad_query(&r);
    };
    let (rows, next, status) = match filter(&q) {
        Ok(f) => match r.admin().audit_trail().search(&r.who, f, Some(PAGE)).await {
            Ok((rows, next)) => (rows, next, StatusCode::OK),
            Err(e) => (Vec::new(), None, r.refused(e)),
        },
        Err(e) => (Vec::new(), None, r.refused(e)),
    };
    let accounts: Choices = if r.who.account.is_none() {
        r.admin()
            .accounts()
            .list(&r.who, None, Some(200))
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let id = a.id.to_string();
                let on = id == q.client_id;
                (id, a.name, on)
            })
            .collect()
    } else {
        Vec::new()
    };
    let ui = r.ui.clone();
    let outcomes = [Outcome::Success, Outcome::Failure, Outcome::Denied]
        .into_iter()
        .map(|o| {
            (
                o.as_str().to_owned(),
                outcome_words(&ui, o).to_owned(),
                q.outcome == o.as_str(),
            )
        })
        .collect();
    let view = AuditPage {
        ui: &ui,
        title: ui.c_audit,
        q: &q,
        outcomes,
        accounts,
        rows: rows.iter().map(|row| audit_row(&ui, row)).collect(),
        next: next.map(|c| href(&q, Some(c))),
        first: q.cursor.is_some().then(|| href(&q, None)),
        c: &r.at("audit"),
    };
    r.show(status, &view)
}
