//! Redirect URIs as registered (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1, §4.1.3).
//! Registration refuses fragments, and plain http except on loopback; matching is exact
//! string comparison (the one RFC 8252 exception, loopback ports, comes with `/authorize`).

use std::fmt;

use url::Url;

use crate::model::InvalidValue;

/// A redirect URI fit for registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(Url);

impl RedirectUri {
    /// Accepts `https://…`, `http://` on a loopback host (`127.0.0.1`, `[::1]`, `localhost`),
    /// and private-use schemes with a dot (`com.example.app:/cb`, RFC 8252 §7.1).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let url = Url::parse(s.trim()).map_err(|_| InvalidValue::new(format!("{s:?} is not an absolute URI")))?;
        if url.fragment().is_some() {
            return Err(InvalidValue::new(format!("{s:?} must not have a fragment")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new(format!("{s:?} must not carry credentials")));
        }
        let ok = match url.scheme() {
            "https" => url.host().is_some(),
            "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")),
            scheme => scheme.contains('.'),
        };
        if !ok {
            return Err(InvalidValue::new(format!(
                "{s:?} must use https, http on a loopback address, or a private-use scheme like com.example.app"
            )));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// True when `presented` names this URI: the same text, or text that parses to the same URI
    /// (a loopback redirect written with its default port, say).
    pub fn is(&self, presented: &str) -> bool {
        presented == self.as_str() || Self::parse(presented).is_ok_and(|p| p == *self)
    }
}

impl serde::Serialize for RedirectUri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RedirectUri {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(e.0))
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_refuses_unsafe_uris() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://a.example/cb#x",
            "/cb",
            "javascript:alert(1)",
            "https://u:p@a.example/",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_redirect_uri_is_the_same_text_or_the_same_uri() {
        let uri = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
        assert!(uri.is("http://127.0.0.1/cb"));
        assert!(uri.is("http://127.0.0.1:80/cb"));
        assert!(!uri.is("http://127.0.0.1:8080/cb"));
        assert!(!uri.is("http://127.0.0.1/cb/"));
        let text = serde_json::to_string(&uri).unwrap();
        assert_eq!(text, "\"http://127.0.0.1/cb\"");
        assert_eq!(serde_json::from_str::<RedirectUri>(&text).unwrap(), uri);
        assert!(serde_json::from_str::<RedirectUri>("\"javascript:x\"").is_err());
    }
}
