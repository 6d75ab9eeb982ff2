//! A lockout in force (see `security::lockout` for the policy that sets it).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Which lock applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockScope {
    Device,
    Source,
    Account,
}

impl LockScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Source => "source",
            Self::Account => "account",
        }
    }
}

/// A lock in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub scope: LockScope,
    #[serde(with = "time::serde::timestamp")]
    pub until: OffsetDateTime,
    /// 1 for the first lockout of the day, 2 for the second …
    pub level: u32,
}
