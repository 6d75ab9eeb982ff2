//! Roles: named permission sets. Staff roles belong to users without a B2B account, account
//! roles to users of one (DESIGN.md, Data). The four built-ins come from the first migration.

use time::OffsetDateTime;

use super::permission::Permission;
use super::{InvalidValue, name_enum, string_newtype};

string_newtype!(
    /// A role's name: `admin`, `operator`, `client_admin`, `client_user`, or a custom one.
    RoleName
);

impl RoleName {
    /// 2–64 characters of `a-z`, `0-9`, `_`, `-`, starting with a letter.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let ok = (2..=64).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be 2-64 characters of a-z, 0-9, '_' and '-', starting with a letter",
            ))
        }
    }

    pub const ADMIN: &'static str = "admin";
    pub const OPERATOR: &'static str = "operator";
    pub const CLIENT_ADMIN: &'static str = "client_admin";
    pub const CLIENT_USER: &'static str = "client_user";
}

name_enum!(
    /// Who may hold a role: internal staff, or users of a B2B account.
    RoleScope { Staff = "staff", Account = "account" }
);

/// A role as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Role {
    #[schema(value_type = String)]
    pub name: RoleName,
    pub description: String,
    /// `staff` or `account`: whose users may hold it.
    #[schema(value_type = String, example = "account")]
    pub scope: RoleScope,
    #[schema(value_type = Vec<String>)]
    pub permissions: Vec<Permission>,
    pub builtin: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}
