//! B2B customer accounts: the companies using the platform (table and admin path `clients`,
//! token claim `clientId`). Called `Account` in code so it never mixes with OAuth's client_id.

use time::OffsetDateTime;

use super::{InvalidValue, name_enum, string_newtype, uuid_newtype};

uuid_newtype!(
    /// The id of a B2B account.
    AccountId
);

string_newtype!(
    /// The URL-safe unique short name of a B2B account: `acme-logistics`.
    Slug
);

impl Slug {
    /// 2–63 characters of `a-z`, `0-9` and inner hyphens.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = (2..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue::new(
                "must be 2-63 characters of a-z, 0-9 and inner hyphens",
            ))
        }
    }

    /// A slug made from a display name: `ACME Logistics, Ltd.` → `acme-logistics-ltd`.
    pub fn from_name(name: &str) -> Result<Self, InvalidValue> {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        let cut = slug.char_indices().nth(63).map_or(slug.len(), |(i, _)| i);
        Self::parse(slug[..cut].trim_end_matches('-'))
            .map_err(|_| InvalidValue::new("cannot make a slug from this name: give one with --slug"))
    }
}

name_enum!(
    /// Whether a B2B account may be used.
    AccountStatus { Active = "active", Suspended = "suspended", Deleted = "deleted" }
);

/// A B2B customer account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Account {
    #[schema(value_type = String, format = Uuid)]
    pub id: AccountId,
    pub name: String,
    #[schema(value_type = String)]
    pub slug: Slug,
    #[schema(value_type = String, example = "active")]
    pub status: AccountStatus,
    /// Every user of the account must sign in with a second factor.
    pub mfa_required: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A display name: 1–200 characters, no control characters, trimmed.
pub fn display_name(s: &str) -> Result<String, InvalidValue> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(InvalidValue::new("must be 1-200 characters without control characters"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(
            Slug::from_name("ACME Logistics, Ltd.").unwrap().as_str(),
            "acme-logistics-ltd"
        );
        assert!(Slug::from_name("!!!").is_err());
        assert!(Slug::parse("-x").is_err());
        assert!(Slug::parse("Acme").is_err());
    }
}
