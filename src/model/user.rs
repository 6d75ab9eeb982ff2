//! Users: B2B users (with a `client_id`) and internal staff (without one).

use time::OffsetDateTime;

use super::account::AccountId;
use super::permission::Permission;
use super::role::RoleName;
use super::{InvalidValue, name_enum, string_newtype, uuid_newtype};

uuid_newtype!(
    /// A user's id: the `sub` of their tokens.
    UserId
);

string_newtype!(
    /// A login name, kept in lower case so that uniqueness ignores case.
    Username
);

impl Username {
    /// 3–64 characters of `a-z`, `0-9`, `.`, `_`, `-`, starting with a letter or digit; upper
    /// case is folded. `@` is refused so a username never looks like someone's email.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b))
            && s.as_bytes()[0].is_ascii_alphanumeric();
        if ok {
            Ok(Self(s))
        } else {
            Err(InvalidValue::new(
                "must be 3-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
            ))
        }
    }
}

string_newtype!(
    /// An email address (syntax checked; ownership is proved by verification).
    Email
);

impl Email {
    /// A pragmatic RFC 5321 check: one `@`, a local part of at most 64 bytes, a dotted domain
    /// of letters, digits and hyphens; no spaces, quotes or control characters. The domain is
    /// lower-cased; the local part is kept as typed.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let invalid = || InvalidValue::new("must be an email address like name@example.com");
        let s = s.trim();
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"\"(),:;<>@[\\]".contains(c));
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && domain.len() <= 253
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok && s.len() <= 254 {
            Ok(Self(format!("{local}@{domain}")))
        } else {
            Err(invalid())
        }
    }

    /// The part after `@`, lower case.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

string_newtype!(
    /// A phone number in E.164 form: `+` and 8–15 digits.
    Phone
);

impl Phone {
    /// Accepts E.164 (`+4915112345678`); spaces, hyphens and parentheses are dropped first.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let compact: String = s.chars().filter(|c| !" -()".contains(*c)).collect();
        let digits = compact.strip_prefix('+').unwrap_or("");
        let ok =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if ok {
            Ok(Self(compact))
        } else {
            Err(InvalidValue::new("must be an E.164 phone number like +4915112345678"))
        }
    }
}

name_enum!(
    /// Whether a user may sign in. `deleted` keeps the row (audit records still resolve) with
    /// the personal data erased.
    UserStatus { Active = "active", Blocked = "blocked", Deleted = "deleted" }
);

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    /// bcrypt; `None` for users who sign in only through their company's IdP.
    pub password_hash: Option<String>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub role: RoleName,
    /// Extra grants on top of the role's permissions.
    pub permissions: Vec<Permission>,
    pub status: UserStatus,
    /// The B2B account; `None` for internal staff.
    pub client_id: Option<AccountId>,
    pub name: Option<String>,
    pub email_verified: bool,
    pub phone_verified: bool,
    /// Tokens issued before this time are inactive (block, role change, sign-out everywhere).
    pub not_before: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The OpenID Connect standard claims beyond name, email and phone.
    pub profile: super::profile::Profile,
}

/// A user as the admin API and events show it: everything but the password hash.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView<'a> {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    #[schema(value_type = String)]
    pub username: &'a Username,
    #[schema(value_type = Option<String>, format = Email)]
    pub email: Option<&'a Email>,
    #[schema(value_type = Option<String>)]
    pub phone: Option<&'a Phone>,
    pub name: Option<&'a str>,
    #[schema(value_type = String)]
    pub role: &'a RoleName,
    /// Extra permissions beyond the role's (`resource:action`).
    #[schema(value_type = Vec<String>)]
    pub permissions: &'a [Permission],
    #[schema(value_type = String, example = "active")]
    pub status: UserStatus,
    /// The B2B account (`None` for platform staff).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub client_id: Option<AccountId>,
    pub email_verified: bool,
    pub phone_verified: bool,
    /// The OpenID Connect profile fields (given_name, locale, address, …).
    #[schema(value_type = Object)]
    pub profile: &'a super::profile::Profile,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl User {
    /// The public view of this user.
    pub fn view(&self) -> UserView<'_> {
        UserView {
            id: self.id,
            username: &self.username,
            email: self.email.as_ref(),
            phone: self.phone.as_ref(),
            name: self.name.as_deref(),
            role: &self.role,
            permissions: &self.permissions,
            status: self.status,
            client_id: self.client_id,
            email_verified: self.email_verified,
            phone_verified: self.phone_verified,
            profile: &self.profile,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_and_refuse_odd_characters() {
        assert_eq!(Username::parse(" Alice.Smith ").unwrap().as_str(), "alice.smith");
        for bad in [
            "ab",
            "-alice",
            "alice smith",
            "alice@example.com",
            "алиса",
            &"a".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_checked_and_domains_lower_cased() {
        assert_eq!(
            Email::parse("Ann.Lee@Example.COM").unwrap().as_str(),
            "Ann.Lee@example.com"
        );
        assert_eq!(Email::parse("a@b.co").unwrap().domain(), "b.co");
        for bad in [
            "",
            "a",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@-b.com",
            ".a@b.com",
            "a@b..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_must_be_e164() {
        assert_eq!(Phone::parse("+49 151 1234-5678").unwrap().as_str(), "+4915112345678");
        for bad in [
            "4915112345678",
            "+0151123456",
            "+12",
            "+1234567890123456",
            "+49abc45678",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }
}
