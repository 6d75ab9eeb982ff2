//! Scopes (RFC 6749 §3.3): a set of space-separated tokens of printable ASCII other than
//! space, `"` and `\`. Order and repetition carry no meaning.

use std::collections::BTreeSet;
use std::fmt;

use crate::model::InvalidValue;

/// A set of scope tokens, kept sorted so equal sets print the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-separated scope string; an empty string is the empty set.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        Self::from_tokens(s.split(' ').filter(|t| !t.is_empty()))
    }

    /// Builds a set from separate tokens, each checked.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidValue> {
        let mut set = BTreeSet::new();
        for token in tokens {
            let ok = !token.is_empty()
                && token.len() <= 128
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !ok {
                return Err(InvalidValue::new(format!("{token:?} is not a valid scope token")));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// True when every token of `other` is in `self`.
    /// The tokens of `self` that `other` also holds.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn contains_all(&self, other: &Scope) -> bool {
        other.0.is_subset(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Stored (with codes and refresh families) as the space-separated string, read back through
/// [`Scope::parse`].
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(|e| serde::de::Error::custom(e.0))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined: Vec<&str> = self.iter().collect();
        f.write_str(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_sets() {
        let a = Scope::parse("openid  email openid").unwrap();
        assert_eq!(a.to_string(), "email openid");
        assert!(a.contains_all(&Scope::parse("email").unwrap()));
        assert!(!a.contains_all(&Scope::parse("phone").unwrap()));
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
    }
}
