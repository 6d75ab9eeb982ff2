//! The domain model: the records Propusk keeps and the typed values they are made of — users, B2B
//! accounts (the specification's `clients`), roles and permissions, OAuth applications, scopes
//! and redirect URIs, identity providers, second factors, lockouts, audit records and outbox
//! events. Plain data with its validation and pure rules; no I/O. Every other module may use it;
//! it uses only the leaves (`crypto`, `clock`).

pub mod account;
pub mod application;
pub mod audit;
pub mod event;
pub mod idp;
pub mod lockout;
pub mod mfa;
pub mod password;
pub mod permission;
pub mod profile;
pub mod rate;
pub mod redirect_uri;
pub mod role;
pub mod scope;
mod store_error;
pub mod user;

pub use store_error::StoreError;

/// Why a value was refused; the message is safe to show to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Declares a string newtype with a private field, built only by `parse`, read by `as_str`.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_newtype;

/// Declares a uuid newtype (ids of users and B2B accounts).
macro_rules! uuid_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7), so ids sort by creation in every store.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }
            /// Parses the canonical text form.
            pub fn parse(s: &str) -> Result<Self, $crate::model::InvalidValue> {
                uuid::Uuid::try_parse(s.trim())
                    .map(Self)
                    .map_err(|_| $crate::model::InvalidValue::new("must be a UUID"))
            }
            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
pub(crate) use uuid_newtype;

/// Declares a closed set of lower-case names (statuses, scopes, grant types).
macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, $crate::model::InvalidValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::model::InvalidValue::new(format!(
                        "must be one of: {}",
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use name_enum;
