//! Events for other services (DESIGN.md, Events): CloudEvents 1.0 in structured JSON, written
//! to the `outbox` table in the same transaction as the change they describe, and forwarded to
//! Kafka by a relay when brokers are configured (until then the outbox keeps them).

pub mod event;
pub mod relay;

pub use event::{OutboxEvent, OutboxRow, UserEvent};

/// The topic of user lifecycle events (key: the user id).
pub const USER_EVENTS: &str = "propusk.user-events";
/// The topic carrying every audit record (key: the record's target, or its action).
pub const AUDIT: &str = "propusk.audit";
