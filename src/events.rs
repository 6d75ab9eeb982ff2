//! Events for other services (DESIGN.md, Events): CloudEvents 1.0 in structured JSON, written
//! to the `outbox` table in the same transaction as the change they describe, and forwarded to
//! Kafka by a relay when brokers are configured (until then the outbox keeps them).

pub mod relay;

pub use crate::model::event::{AUDIT, OutboxEvent, OutboxRow, REVOCATIONS, USER_EVENTS, UserEvent};
