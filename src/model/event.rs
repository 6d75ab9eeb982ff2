//! The CloudEvents 1.0 envelope and the named constructors of Propusk's events.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::audit::AuditRecord;
use crate::model::user::User;

/// The topic of user lifecycle events (key: the user id).
pub const USER_EVENTS: &str = "propusk.user-events";
/// The topic carrying every audit record (key: the record's target, or its action).
pub const AUDIT: &str = "propusk.audit";
/// The revocation feed (key: the revoked thing's id; compacted): see `GET /revocations`.
pub const REVOCATIONS: &str = "propusk.revocations";

/// An event on its way to the outbox: the topic (without the configured prefix), the partition
/// key, and the CloudEvent itself.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub topic: &'static str,
    pub key: String,
    pub payload: Value,
}

/// An outbox row waiting for the relay.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub payload: Value,
}

/// A CloudEvents 1.0 structured-mode event. `id` is a UUIDv7, unique per event, so consumers
/// de-duplicate at-least-once deliveries by it.
pub fn cloud_event(kind: &str, source: &str, subject: &str, time: OffsetDateTime, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": uuid::Uuid::now_v7().to_string(),
        "source": source,
        "type": kind,
        "subject": subject,
        "time": time.format(&Rfc3339).unwrap_or_default(),
        "datacontenttype": "application/json",
        "data": data,
    })
}

/// User lifecycle events on `propusk.user-events`, keyed by user id so each user's events stay
/// in order.
pub struct UserEvent;

impl UserEvent {
    fn event(kind: &str, source: &str, user: &User, at: OffsetDateTime, extra: Value) -> OutboxEvent {
        let mut data = serde_json::to_value(user.view()).unwrap_or_else(|_| json!({}));
        if let (Value::Object(data), Value::Object(extra)) = (&mut data, extra) {
            data.extend(extra);
        }
        OutboxEvent {
            topic: USER_EVENTS,
            key: user.id.to_string(),
            payload: cloud_event(kind, source, &user.id.to_string(), at, data),
        }
    }

    /// `user.created`.
    pub fn created(source: &str, user: &User) -> OutboxEvent {
        Self::event("user.created", source, user, user.created_at, json!({}))
    }

    /// `user.roleChanged`, with `old_role` and `new_role`.
    pub fn role_changed(source: &str, user: &User, old_role: &str, at: OffsetDateTime) -> OutboxEvent {
        Self::event(
            "user.roleChanged",
            source,
            user,
            at,
            json!({ "old_role": old_role, "new_role": user.role }),
        )
    }

    /// `user.sessionsRevoked` (sign out everywhere).
    pub fn sessions_revoked(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.sessionsRevoked", source, user, at, json!({}))
    }

    /// `user.permissionsChanged`, with the extra grants before.
    pub fn permissions_changed(
        source: &str,
        user: &User,
        before: &[crate::model::permission::Permission],
        at: OffsetDateTime,
    ) -> OutboxEvent {
        Self::event(
            "user.permissionsChanged",
            source,
            user,
            at,
            json!({ "old_permissions": before }),
        )
    }

    /// `user.updated`, naming the changed fields.
    pub fn updated(source: &str, user: &User, changed: &[&str], at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.updated", source, user, at, json!({ "changed": changed }))
    }

    /// `user.passwordChanged`.
    pub fn password_changed(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.passwordChanged", source, user, at, json!({}))
    }

    /// `user.deleted`: `data` is the erased row.
    pub fn deleted(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.deleted", source, user, at, json!({}))
    }

    /// `user.unblocked`.
    pub fn unblocked(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.unblocked", source, user, at, json!({}))
    }

    /// `user.blocked`.
    pub fn blocked(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.blocked", source, user, at, json!({}))
    }

    /// `user.locked`: too many failures; `scope` is `device`, `source` or `account`, and the
    /// lock ends by itself at `locked_until`.
    pub fn locked(
        source: &str,
        user: &User,
        lock: &crate::model::lockout::Lock,
        ip: Option<&str>,
        at: OffsetDateTime,
    ) -> OutboxEvent {
        let until = lock.until.format(&Rfc3339).unwrap_or_default();
        let extra = json!({ "scope": lock.scope.as_str(), "locked_until": until, "level": lock.level, "ip": ip });
        Self::event("user.locked", source, user, at, extra)
    }

    /// `user.unlocked`: an admin (or a password reset) ended the user's lockouts.
    pub fn unlocked(source: &str, user: &User, at: OffsetDateTime) -> OutboxEvent {
        Self::event("user.unlocked", source, user, at, json!({}))
    }
}

/// Every audit record, on `propusk.audit` for BI and monitoring.
pub fn audit(source: &str, id: i64, record: &AuditRecord) -> OutboxEvent {
    let key = record
        .target_id
        .clone()
        .or_else(|| record.actor_id.clone())
        .unwrap_or_else(|| record.action.clone());
    let data = json!({
        "id": id,
        "occurred_at": record.occurred_at.format(&Rfc3339).unwrap_or_default(),
        "actor_type": record.actor_type.as_str(),
        "actor_id": record.actor_id,
        "client_id": record.client_id,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "action": record.action,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "outcome": record.outcome.as_str(),
        "details": record.details,
    });
    OutboxEvent {
        topic: AUDIT,
        key: key.clone(),
        payload: cloud_event(
            &format!("audit.{}", record.action),
            source,
            &key,
            record.occurred_at,
            data,
        ),
    }
}
