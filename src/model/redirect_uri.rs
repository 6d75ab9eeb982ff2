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
}
