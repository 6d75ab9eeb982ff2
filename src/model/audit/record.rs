//! One audit record and its named constructors. The canonical form the HMAC covers is JSON with
//! sorted keys, so it is the same whatever order a database hands fields or JSON keys back in.

use super::action::Action;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::model::account::AccountId;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    User,
    Application,
    System,
    /// Not identified (a failed login).
    Anonymous,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Application => "application",
            Self::System => "system",
            Self::Anonymous => "anonymous",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "application" => Self::Application,
            "system" => Self::System,
            "anonymous" => Self::Anonymous,
            _ => return None,
        })
    }
}

/// How it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "success" => Self::Success,
            "failure" => Self::Failure,
            "denied" => Self::Denied,
            _ => return None,
        })
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// The client's address, for rationing and lockout (loopback when unknown, as in unit tests).
    pub fn client_ip(&self) -> std::net::IpAddr {
        self.ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
    }
}

/// An audit record before it is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub occurred_at: OffsetDateTime,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    /// The B2B account the action concerns.
    pub client_id: Option<AccountId>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Outcome,
    /// A JSON object.
    pub details: Value,
}

/// A record as stored, with its place in the chain.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub id: i64,
    pub record: AuditRecord,
    pub prev_hmac: Vec<u8>,
    pub hmac: Vec<u8>,
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl AuditRecord {
    fn new(at: OffsetDateTime, action: Action, outcome: Outcome, ctx: &RequestContext) -> Self {
        Self {
            occurred_at: at,
            actor_type: ActorType::Anonymous,
            actor_id: None,
            client_id: None,
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.as_deref().map(|u| clip(u, 256)),
            action: action.as_str().to_owned(),
            target_type: None,
            target_id: None,
            outcome,
            details: json!({}),
        }
    }

    fn by_user(mut self, user: &str, account: Option<AccountId>) -> Self {
        self.actor_type = ActorType::User;
        self.actor_id = Some(user.to_owned());
        self.client_id = account;
        self.target_type = Some("user".into());
        self.target_id = Some(user.to_owned());
        self
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        if let Value::Object(map) = &mut self.details {
            map.insert(key.to_owned(), value);
        }
        self
    }

    /// A successful sign-in (`via`: `login_page`, `password_grant`).
    pub fn login_succeeded(
        at: OffsetDateTime,
        user: &str,
        account: Option<AccountId>,
        via: &str,
        ctx: &RequestContext,
    ) -> Self {
        Self::new(at, Action::Login, Outcome::Success, ctx)
            .by_user(user, account)
            .with("via", json!(via))
    }

    /// A failed sign-in: the name typed (clipped), never the password.
    pub fn login_failed(at: OffsetDateTime, login: &str, via: &str, ctx: &RequestContext) -> Self {
        Self::new(at, Action::Login, Outcome::Failure, ctx)
            .with("login", json!(clip(login, 64)))
            .with("via", json!(via))
    }

    /// A refused sign-in through an upstream identity provider (`idp`: the provider and its
    /// account, once known), with the reason.
    pub fn federated_login_failed(
        at: OffsetDateTime,
        idp: Option<(uuid::Uuid, AccountId)>,
        reason: &str,
        ctx: &RequestContext,
    ) -> Self {
        let mut record = Self::new(at, Action::Login, Outcome::Failure, ctx)
            .with("via", json!("federation"))
            .because(reason);
        if let Some((id, account)) = idp {
            record.client_id = Some(account);
            record = record.with("idp", json!(id));
        }
        record
    }

    /// The record with `reason` in its details.
    pub fn because(self, reason: &str) -> Self {
        self.with("reason", json!(reason))
    }

    /// A wrong second-factor code at sign-in (`method`: totp, recovery, email, sms).
    pub fn second_factor_failed(
        at: OffsetDateTime,
        user: &str,
        account: Option<AccountId>,
        method: &str,
        ctx: &RequestContext,
    ) -> Self {
        Self::new(at, Action::Login, Outcome::Failure, ctx)
            .by_user(user, account)
            .with("via", json!("second_factor"))
            .with("method", json!(method))
    }

    /// A sign-in refused because of a lockout, without checking the password.
    pub fn login_locked(at: OffsetDateTime, login: &str, via: &str, scope: &str, ctx: &RequestContext) -> Self {
        Self::new(at, Action::Login, Outcome::Denied, ctx)
            .with("login", json!(clip(login, 64)))
            .with("via", json!(via))
            .with("reason", json!("locked"))
            .with("lock_scope", json!(scope))
    }

    /// Failures locked `user` out (for `scope`) until `until`.
    pub fn locked(
        at: OffsetDateTime,
        user: &str,
        account: Option<AccountId>,
        lock: &crate::model::lockout::Lock,
        ctx: &RequestContext,
    ) -> Self {
        let mut record = Self::new(at, Action::Lock, Outcome::Success, ctx);
        record.actor_type = ActorType::System;
        record.actor_id = Some("lockout".into());
        record.client_id = account;
        record.target_type = Some("user".into());
        record.target_id = Some(user.to_owned());
        record
            .with("scope", json!(lock.scope.as_str()))
            .with("level", json!(lock.level))
            .with("until", json!(lock.until.unix_timestamp()))
    }

    pub fn logout(at: OffsetDateTime, user: &str, sid: &str, ctx: &RequestContext) -> Self {
        Self::new(at, Action::Logout, Outcome::Success, ctx)
            .by_user(user, None)
            .with("sid", json!(sid))
    }

    /// A refresh-token family revoked (by its client, or on reuse).
    pub fn refresh_family_revoked(at: OffsetDateTime, user: &str, client: &str, reason: &str) -> Self {
        let mut record = Self::new(
            at,
            Action::RefreshFamilyRevoked,
            Outcome::Success,
            &RequestContext::default(),
        );
        record.actor_type = ActorType::Application;
        record.actor_id = Some(client.to_owned());
        record.target_type = Some("user".into());
        record.target_id = Some(user.to_owned());
        record.with("reason", json!(reason))
    }

    /// A logout token that could not be delivered to an application (OpenID Connect Back-Channel
    /// Logout), after its retries.
    pub fn backchannel_logout_failed(at: OffsetDateTime, user: &str, client: &str, sid: &str, reason: &str) -> Self {
        let mut record = Self::new(
            at,
            Action::BackchannelLogout,
            Outcome::Failure,
            &RequestContext::default(),
        );
        record.actor_type = ActorType::System;
        record.actor_id = Some("backchannel".into());
        record.target_type = Some("user".into());
        record.target_id = Some(user.to_owned());
        record
            .with("client_id", json!(client))
            .with("sid", json!(sid))
            .with("reason", json!(reason))
    }

    /// A user denied an application access.
    pub fn consent_denied(at: OffsetDateTime, user: &str, client: &str, ctx: &RequestContext) -> Self {
        Self::new(at, Action::Consent, Outcome::Denied, ctx)
            .by_user(user, None)
            .with("client_id", json!(client))
    }

    /// An administrative change to `target`; the actor defaults to the host operator (`cli`).
    pub fn change(
        at: OffsetDateTime,
        action: Action,
        target_type: &str,
        target_id: &str,
        account: Option<AccountId>,
        details: Value,
    ) -> Self {
        let mut record = Self::new(at, action, Outcome::Success, &RequestContext::default());
        record.actor_type = ActorType::System;
        record.actor_id = Some("cli".into());
        record.client_id = account;
        record.target_type = Some(target_type.to_owned());
        record.target_id = Some(target_id.to_owned());
        record.details = details;
        record
    }

    /// What the HMAC covers: every field and the row id, as JSON with sorted keys.
    pub fn canonical(&self, id: i64) -> Vec<u8> {
        let value = json!({
            "id": id,
            "occurred_at": self.occurred_at.unix_timestamp_nanos().to_string(),
            "actor_type": self.actor_type.as_str(),
            "actor_id": self.actor_id,
            "client_id": self.client_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "outcome": self.outcome.as_str(),
            "details": self.details,
        });
        let mut out = String::new();
        write_sorted(&value, &mut out);
        out.into_bytes()
    }
}

/// JSON with object keys sorted at every level.
fn write_sorted(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let sorted: std::collections::BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_sorted(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_ignores_key_order() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut a = AuditRecord::login_failed(at, "ann", "login_page", &RequestContext::default());
        let mut b = a.clone();
        a.details = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":1}}"#).unwrap();
        b.details = serde_json::from_str(r#"{"a":{"x":1,"y":2},"b":1}"#).unwrap();
        assert_eq!(a.canonical(7), b.canonical(7));
        assert_ne!(a.canonical(7), a.canonical(8), "the id is covered");
    }
}
