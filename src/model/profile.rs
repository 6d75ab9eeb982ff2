//! A user's profile: the OpenID Connect standard claims beyond name, email and phone (OpenID
//! Connect Core §5.1), released by the `profile` and `address` scopes (§5.4) or asked for one by
//! one with the `claims` parameter (§5.5). Every field is optional; each is checked as it is set.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::InvalidValue;

/// The profile fields of a user (OpenID Connect Core §5.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// An absolute http(s) URL of a picture of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
    /// An absolute http(s) URL of the user's web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`, `0000-MM-DD` (year withheld) or `YYYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthdate: Option<String>,
    /// An IANA time zone name, e.g. `Europe/Moscow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zoneinfo: Option<String>,
    /// A BCP 47 language tag, e.g. `ru-RU`; it also picks the language of mails and SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

/// A postal address (OpenID Connect Core §5.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The profile claims the `profile` scope releases, besides `name`, `preferred_username` and
/// `updated_at`.
pub const PROFILE_CLAIMS: &[&str] = &[
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
];

const MAX_TEXT: usize = 255;

impl Profile {
    /// The profile with `change` applied: each member present replaces that field, `null` (or
    /// an empty string) clears it; `address` is replaced as a whole. Unknown members and bad
    /// values are refused, and nothing changes then.
    pub fn changed(&self, change: &Map<String, Value>) -> Result<Self, InvalidValue> {
        let mut fields = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (name, value) in change {
            if !PROFILE_CLAIMS.contains(&name.as_str()) && name != "address" {
                return Err(InvalidValue::new(format!("{name} is not a profile field")));
            }
            match value {
                Value::Null => {
                    fields.remove(name);
                }
                Value::String(s) if s.trim().is_empty() => {
                    fields.remove(name);
                }
                other => {
                    fields.insert(name.clone(), other.clone());
                }
            }
        }
        let profile: Profile = serde_json::from_value(Value::Object(fields))
            .map_err(|e| InvalidValue::new(format!("the profile is malformed: {e}")))?;
        profile.checked()
    }

    /// Checks and normalises every field.
    pub fn checked(self) -> Result<Self, InvalidValue> {
        Ok(Self {
            given_name: text(self.given_name, "given_name", MAX_TEXT)?,
            family_name: text(self.family_name, "family_name", MAX_TEXT)?,
            middle_name: text(self.middle_name, "middle_name", MAX_TEXT)?,
            nickname: text(self.nickname, "nickname", MAX_TEXT)?,
            picture: url(self.picture, "picture")?,
            website: url(self.website, "website")?,
            gender: text(self.gender, "gender", 64)?,
            birthdate: checked(self.birthdate, "birthdate", birthdate)?,
            zoneinfo: checked(self.zoneinfo, "zoneinfo", zoneinfo)?,
            locale: checked(self.locale, "locale", locale)?,
            address: match self.address {
                None => None,
                Some(a) => {
                    let a = Address {
                        formatted: multiline(a.formatted, "address.formatted")?,
                        street_address: multiline(a.street_address, "address.street_address")?,
                        locality: text(a.locality, "address.locality", MAX_TEXT)?,
                        region: text(a.region, "address.region", MAX_TEXT)?,
                        postal_code: text(a.postal_code, "address.postal_code", 32)?,
                        country: text(a.country, "address.country", MAX_TEXT)?,
                    };
                    (a != Address::default()).then_some(a)
                }
            },
        })
    }

    /// The language the user reads, if set: the primary subtag of `locale` (`ru` of `ru-RU`).
    pub fn language(&self) -> Option<&str> {
        self.locale.as_deref().and_then(|l| l.split('-').next())
    }
}

fn checked(
    value: Option<String>,
    field: &str,
    rule: fn(&str) -> Option<String>,
) -> Result<Option<String>, InvalidValue> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => rule(v)
            .map(Some)
            .ok_or_else(|| InvalidValue::new(format!("{field} is not valid: {v:?}"))),
    }
}

/// One line of printable text, at most `max` characters.
fn text(value: Option<String>, field: &str, max: usize) -> Result<Option<String>, InvalidValue> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => {
            Err(InvalidValue::new(format!("{field} is longer than {max} characters")))
        }
        Some(v) if v.chars().any(char::is_control) => Err(InvalidValue::new(format!("{field} has control characters"))),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Text that may span lines (an address), at most 1,024 characters.
fn multiline(value: Option<String>, field: &str) -> Result<Option<String>, InvalidValue> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 1024 => {
            Err(InvalidValue::new(format!("{field} is longer than 1024 characters")))
        }
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') => {
            Err(InvalidValue::new(format!("{field} has control characters")))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// An absolute http(s) URL without credentials, at most 2,048 characters.
fn url(value: Option<String>, field: &str) -> Result<Option<String>, InvalidValue> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => match url::Url::parse(v) {
            Ok(u)
                if v.len() <= 2048
                    && matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some()
                    && u.username().is_empty()
                    && u.password().is_none() =>
            {
                Ok(Some(u.to_string()))
            }
            _ => Err(InvalidValue::new(format!("{field} must be an absolute http(s) URL"))),
        },
    }
}

/// `YYYY-MM-DD` (a real date; year `0000` when withheld) or `YYYY`.
fn birthdate(v: &str) -> Option<String> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = v.split('-').collect();
    match parts.as_slice() {
        [y] if digits(y, 4) && *y != "0000" => Some(v.to_owned()),
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
            // A withheld year checks the day against a leap year (29 February may be given).
            let year = if *y == "0000" { 2000 } else { y.parse().ok()? };
            time::Date::from_calendar_date(year, month, d.parse().ok()?).ok()?;
            Some(v.to_owned())
        }
        _ => None,
    }
}

/// An IANA time zone name: `UTC`, or `Area/Location[/More]` of letters, digits, `_`, `-`, `+`.
fn zoneinfo(v: &str) -> Option<String> {
    let part =
        |p: &str| !p.is_empty() && p.len() <= 30 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b));
    let ok = v.len() <= 64 && (v == "UTC" || (v.contains('/') && v.split('/').all(part)));
    ok.then(|| v.to_owned())
}

/// A BCP 47 language tag (`ru`, `ru-RU`, `zh-Hant-TW`); `_` is read as `-`.
fn locale(v: &str) -> Option<String> {
    let tag = v.replace('_', "-");
    let mut parts = tag.split('-');
    let language = parts.next()?;
    let language_ok = (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok = parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    (language_ok && rest_ok && tag.len() <= 35).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn fields_are_checked_set_and_cleared() {
        let p = Profile::default()
            .changed(&change(json!({
                "given_name": " Anna ", "family_name": "Иванова", "locale": "ru_RU",
                "zoneinfo": "Europe/Moscow", "birthdate": "0000-02-29",
                "website": "https://anna.example/", "address": {"locality": "Москва", "country": "RU"}
            })))
            .unwrap();
        assert_eq!(p.given_name.as_deref(), Some("Anna"));
        assert_eq!(p.locale.as_deref(), Some("ru-RU"));
        assert_eq!(p.language(), Some("ru"));
        assert_eq!(p.address.as_ref().unwrap().locality.as_deref(), Some("Москва"));
        let cleared = p
            .changed(&change(json!({"given_name": null, "locale": "", "address": {}})))
            .unwrap();
        assert_eq!(cleared.given_name, None);
        assert_eq!(cleared.locale, None);
        assert_eq!(cleared.address, None);
        assert_eq!(cleared.family_name.as_deref(), Some("Иванова"), "untouched");
    }

    #[test]
    fn bad_values_and_unknown_fields_are_refused() {
        for bad in [
            json!({"shoe_size": "42"}),
            json!({"role": "admin"}),
            json!({"email": "a@b.c"}),
            json!({"given_name": "x".repeat(256)}),
            json!({"nickname": "a\u{0}b"}),
            json!({"picture": "javascript:alert(1)"}),
            json!({"website": "https://user:pw@host.example/"}),
            json!({"website": "/relative"}),
            json!({"birthdate": "1990-02-30"}),
            json!({"birthdate": "90-01-01"}),
            json!({"birthdate": "0000"}),
            json!({"zoneinfo": "../../etc/passwd"}),
            json!({"zoneinfo": "Moscow"}),
            json!({"locale": "russian-language"}),
            json!({"locale": "r"}),
            json!({"given_name": 5}),
            json!({"address": {"planet": "Earth"}}),
            json!({"address": "Moscow"}),
        ] {
            assert!(Profile::default().changed(&change(bad.clone())).is_err(), "{bad}");
        }
        assert!(
            Profile::default()
                .changed(&change(json!({"birthdate": "1990"})))
                .is_ok()
        );
        assert!(Profile::default().changed(&change(json!({"zoneinfo": "UTC"}))).is_ok());
    }
}
