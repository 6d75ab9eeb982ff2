//! Forward authentication for API gateways (`/gateway/check`): nginx `auth_request`, Traefik
//! `forwardAuth` and Envoy `ext_authz` (HTTP service) ask, per request, whether the client's
//! bearer token may pass, and get the identity to hand to the service:
//! - 200 with `X-User-Id` (the token's `sub`), `X-User-Role`, `X-Client-Id` (the B2B account, the
//!   specification's `clientId`), `X-Application-Id` (the OAuth client) and `X-Permissions`
//!   (comma-separated);
//! - 401 `invalid_token` for a missing, bad, expired or revoked token (revocations are seen on
//!   the next request: one Redis round trip, no SQL);
//! - 403 `insufficient_scope` when the token lacks the permission the route requires, or is
//!   meant for another audience.
//!
//! The original request comes as `X-Original-Method` / `X-Original-URI` (nginx), or
//! `X-Forwarded-Method` / `X-Forwarded-Uri` (Traefik), or as the method and the path after
//! `/gateway/check` (Envoy's `path_prefix`); both pairs present and disagreeing, a header that is
//! not ASCII, a method-override header or a path not in normal form is 403. The permission is
//! that of the first entry of the route map (`GATEWAY_ROUTES`) matching the method and path (no
//! match: the token only), plus `X-Required-Permission` if the gateway adds one. Tokens are
//! judged by their own permissions (DESIGN.md, Token authority), like `/authz/check`; the
//! audience must be the route's, else Propusk's own.
//!
//! The gateway must set the original method and URI itself (a client's own `X-Original-URI`
//! would otherwise choose the route): see the README's configurations.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::{Api, authorized, insufficient_scope};
use crate::authz;
use crate::http::AppState;
use crate::model::permission::Permission;

/// The path this endpoint answers on (and under, for Envoy).
pub const PATH: &str = "/gateway/check";

/// One entry of the route map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `None` for any.
    method: Option<String>,
    /// Path segments: literal, `*` (one segment) or `**` (any number, none included).
    pattern: Vec<String>,
    permission: Option<Permission>,
    audience: Option<String>,
}

/// The route map: first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes(Vec<Route>);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    #[serde(default)]
    route: Vec<RouteEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    #[serde(default)]
    method: Option<String>,
    path: String,
    #[serde(default)]
    permission: Option<String>,
    #[serde(default)]
    audience: Option<String>,
}

impl Routes {
    /// Reads the map from a TOML file of `[[route]]` tables (`method`, `path`, `permission`,
    /// `audience`); every mistake is named with the entry it is in.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let file: RouteFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut routes = Vec::new();
        for (i, entry) in file.route.into_iter().enumerate() {
            let n = i + 1;
            let method = match entry.method.as_deref().map(str::trim) {
                None | Some("*") => None,
                Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()) => Some(m.to_ascii_uppercase()),
                Some(m) => return Err(format!("route {n}: method {m:?} is not an HTTP method or *")),
            };
            if !entry.path.starts_with('/') {
                return Err(format!("route {n}: path {:?} must start with /", entry.path));
            }
            let pattern: Vec<String> = segments(&entry.path).map(str::to_owned).collect();
            if pattern.iter().any(|s| s.contains('*') && s != "*" && s != "**") {
                return Err(format!(
                    "route {n}: in {:?}, * and ** stand for whole segments only",
                    entry.path
                ));
            }
            let permission = match entry.permission.as_deref() {
                None | Some("") => None,
                Some(p) => Some(Permission::parse(p).map_err(|e| format!("route {n}: permission {p:?}: {}", e.0))?),
            };
            let audience = entry.audience.filter(|a| !a.is_empty());
            routes.push(Route {
                method,
                pattern,
                permission,
                audience,
            });
        }
        Ok(Self(routes))
    }

    /// The first route matching `method` and `path` (a normal path: see [`normal_path`]; segments
    /// compare ignoring ASCII case, as some services route).
    fn find(&self, method: &str, path: &[&str]) -> Option<&Route> {
        // HEAD is served by GET handlers: a GET route covers it.
        let method = if method.eq_ignore_ascii_case("HEAD") {
            "GET"
        } else {
            method
        };
        self.0
            .iter()
            .find(|r| r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && matches(&r.pattern, path))
    }
}

/// The non-empty segments of a path.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// True when the pattern's segments match the path's: `*` is one segment, `**` any number. The
/// classic two-pointer glob (backtracking only to the last `**`): O(pattern × path) at worst,
/// whatever the number of `**`.
fn matches(pattern: &[String], path: &[&str]) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < path.len() {
        match pattern.get(p).map(String::as_str) {
            Some("**") => {
                star = Some((p, s));
                p += 1;
            }
            Some(segment) if segment == "*" || segment.eq_ignore_ascii_case(path[s]) => {
                p += 1;
                s += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    p = sp + 1;
                    s = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|rest| rest == "**")
}

/// Most segments a path may have (a gateway's URI limit is far below what could slow matching).
const MAX_SEGMENTS: usize = 256;

/// The segments of the original URI's path with unreserved characters percent-decoded, or `None`
/// when the path is not in normal form: dot segments, `;` parameters, a fragment, encoded
/// characters that are not unreserved (`/`, `.`, `\`, NUL …), backslashes, non-ASCII. A service
/// might resolve such a path to another route than the one matched here, so it is refused rather
/// than guessed.
fn normal_path(uri: &str) -> Option<Vec<String>> {
    if uri.contains('#') || !uri.is_ascii() {
        return None;
    }
    let path = uri.split('?').next().unwrap_or_default();
    if !path.starts_with('/') || path.contains(['\\', ';']) {
        return None;
    }
    let mut parts = Vec::new();
    for segment in segments(path) {
        let segment = decode_unreserved(segment)?;
        if segment == "." || segment == ".." || segment.contains('.') && segment.trim_matches('.').is_empty() {
            return None;
        }
        parts.push(segment);
    }
    (parts.len() <= MAX_SEGMENTS).then_some(parts)
}

/// Decodes `%XX` of unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - _ ~`, not `.`); any
/// other escape makes the segment unmatchable (`None`).
fn decode_unreserved(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if !(byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' || byte == b'~') {
                return None;
            }
            out.push(char::from(byte));
            i += 3;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
    Some(out)
}

/// The value of the first of `names` present: `Err` when one is present but not visible ASCII
/// (never silently the next one), or when two are present and disagree.
fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Result<Option<&'a str>, &'static str> {
    let mut found: Option<&str> = None;
    for name in names {
        let mut values = headers.get_all(*name).iter();
        let Some(value) = values.next() else { continue };
        if values.next().is_some() {
            return Err("a request header is repeated");
        }
        let value = value.to_str().map_err(|_| "a request header is not ASCII")?.trim();
        match found {
            Some(other) if other != value => return Err("the gateway's request headers disagree"),
            _ => found = Some(value),
        }
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// Headers that ask a service to treat the request as another method: refused, since the route
/// was matched on the method the gateway saw.
const METHOD_OVERRIDES: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];

/// The original request: method and URI.
fn original(request: &Request) -> Result<(String, String), &'static str> {
    let headers = request.headers();
    if METHOD_OVERRIDES.iter().any(|h| headers.contains_key(*h)) {
        return Err("method override headers are refused");
    }
    let method = header(headers, &["x-original-method", "x-forwarded-method"])?
        .map_or_else(|| request.method().to_string(), str::to_owned);
    let uri = match header(headers, &["x-original-uri", "x-forwarded-uri"])? {
        Some(uri) => uri.to_owned(),
        // Envoy: the original path follows the prefix; the bare prefix names no request.
        None => match request.uri().path().strip_prefix(PATH) {
            Some(rest) if rest.starts_with('/') => {
                let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
                format!("{rest}{query}")
            }
            _ => return Err("the original request is not named (X-Original-URI or X-Forwarded-Uri)"),
        },
    };
    Ok((method, uri))
}

fn forbidden(reason: &str) -> Response {
    insufficient_scope(reason)
}

/// `/gateway/check`, any method (see the module docs).
pub async fn check(State(state): State<AppState>, request: Request) -> Response {
    let bearer = match authorized(&state.oauth, request.headers(), Api::Gateway).await {
        Ok(bearer) => bearer,
        Err(refused) => return refused,
    };
    let claims = &bearer.claims;
    let (method, uri) = match original(&request) {
        Ok(original) => original,
        Err(reason) => return forbidden(reason),
    };
    let Some(path) = normal_path(&uri) else {
        return forbidden("the request path is not in normal form");
    };
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let route = state.gateway.find(&method, &path);
    // The route's audience, else Propusk's own: a token for another resource passes only on
    // the routes of that resource's service.
    let audience = route
        .and_then(|r| r.audience.as_deref())
        .unwrap_or(&state.oauth.audience);
    if claims.aud != audience {
        return forbidden("the token is meant for another resource");
    }
    // The gateway may add a permission to the route's, never replace it.
    let extra = match header(request.headers(), &["x-required-permission"]) {
        Ok(None) => None,
        Ok(Some(p)) => match Permission::parse(p) {
            Ok(p) => Some(p),
            Err(_) => return forbidden("X-Required-Permission is not a permission"),
        },
        Err(reason) => return forbidden(reason),
    };
    for wanted in route
        .and_then(|r| r.permission.as_ref())
        .into_iter()
        .chain(extra.as_ref())
    {
        let decision = authz::decide(claims, wanted, None);
        if !decision.allowed {
            return forbidden(&decision.reason);
        }
    }
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    // Every identity header, empty when the token has no such claim, so a gateway that copies
    // them over the client's own never lets one of those through.
    let permissions = claims.permissions.join(",");
    let identity: [(&'static str, &str); 5] = [
        ("x-user-id", &claims.sub),
        ("x-user-role", claims.role.as_deref().unwrap_or_default()),
        ("x-client-id", claims.account_id.as_deref().unwrap_or_default()),
        ("x-application-id", &claims.client_id),
        ("x-permissions", &permissions),
    ];
    for (name, value) in identity {
        let value = HeaderValue::from_str(value).unwrap_or(HeaderValue::from_static(""));
        headers.insert(HeaderName::from_static(name), value);
    }
    headers.insert(axum::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Routes of [`check`]: the path itself and everything under it (Envoy's `path_prefix`), any
/// method (Envoy forwards the original one).
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(PATH, axum::routing::any(check))
        .route(&format!("{PATH}/{{*rest}}"), axum::routing::any(check))
}

/// Loads the route map named by the configuration (none: token checks only).
pub fn load(path: Option<&Path>) -> Result<Arc<Routes>, String> {
    Ok(Arc::new(match path {
        Some(path) => Routes::load(path)?,
        None => Routes::default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(routes: &'a Routes, method: &str, uri: &str) -> Option<&'a Route> {
        let path = normal_path(uri).unwrap();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        routes.find(method, &path)
    }

    #[test]
    fn the_first_matching_route_wins() {
        let routes = Routes::parse(
            r#"
            [[route]]
            method = "GET"
            path = "/parcels/**"
            permission = "parcels:read"

            [[route]]
            method = "post"
            path = "/parcels"
            permission = "parcels:create"

            [[route]]
            path = "/parcels/*/events"
            permission = "events:read"
            audience = "https://parcels.example"

            [[route]]
            path = "/public/**"
            "#,
        )
        .unwrap();
        let permission =
            |m: &str, uri: &str| find(&routes, m, uri).and_then(|r| r.permission.as_ref().map(ToString::to_string));
        assert_eq!(permission("GET", "/parcels"), Some("parcels:read".into()));
        assert_eq!(permission("GET", "/parcels/42/events?x=1"), Some("parcels:read".into()));
        assert_eq!(permission("POST", "/parcels"), Some("parcels:create".into()));
        assert_eq!(permission("PUT", "/parcels/42/events"), Some("events:read".into()));
        assert_eq!(permission("PUT", "/parcels/42/43/events"), None);
        assert!(find(&routes, "GET", "/public/a/b").is_some_and(|r| r.permission.is_none()));
        assert!(find(&routes, "GET", "/other").is_none());
        assert!(
            find(&routes, "GET", "//parcels//1").is_some(),
            "empty segments collapse"
        );
        assert_eq!(
            permission("GET", "/%70arcels/1"),
            Some("parcels:read".into()),
            "unreserved escapes decode"
        );
        assert_eq!(
            permission("POST", "/PARCELS"),
            Some("parcels:create".into()),
            "case is ignored"
        );
        assert_eq!(
            permission("HEAD", "/parcels/1"),
            Some("parcels:read".into()),
            "HEAD is GET"
        );
    }

    #[test]
    fn paths_not_in_normal_form_are_refused() {
        for bad in [
            "/parcels/../admin",
            "/parcels/./x",
            "/parcels/%2e%2e/admin",
            "/parcels%2Fadmin",
            "/a\\b",
            "parcels",
            "/x%00",
            "/parcels;x/1",
            "/parcels/..;/admin",
            "/public/x#/../../admin",
            "/caf\u{e9}",
            "/%2E/x",
            "/a%20b",
        ] {
            assert!(normal_path(bad).is_none(), "{bad}");
        }
        assert_eq!(normal_path("/a/b?c=../d").unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn mistakes_in_the_route_map_are_named() {
        for (text, says) in [
            ("[[route]]\npath = \"parcels\"", "must start with /"),
            ("[[route]]\npath = \"/p*\"", "whole segments"),
            ("[[route]]\npath = \"/p\"\npermission = \"nope\"", "route 1: permission"),
            ("[[route]]\npath = \"/p\"\nmethod = \"G T\"", "not an HTTP method"),
            ("[[route]]\npath = \"/p\"\ncolour = \"red\"", "unknown field"),
        ] {
            let e = Routes::parse(text).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
