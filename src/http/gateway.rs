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
//! `/gateway/check` (Envoy's `path_prefix`). The required permission is `X-Required-Permission`,
//! else the first entry of the route map (`GATEWAY_ROUTES`) that matches the method and path;
//! no match checks the token only. Tokens are judged by their own permissions (DESIGN.md, Token
//! authority), like `/authz/check`; a route may also name the audience its service answers to.
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

    /// The first route matching `method` and `path` (a normal path: see [`normal_path`]).
    fn find(&self, method: &str, path: &[&str]) -> Option<&Route> {
        self.0
            .iter()
            .find(|r| r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && matches(&r.pattern, path))
    }
}

/// The non-empty segments of a path.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// True when the pattern's segments match the path's.
fn matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|skip| matches(rest, &path[skip..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, tail)) => (first == "*" || first == segment) && matches(rest, tail),
            None => false,
        },
    }
}

/// The segments of the original URI's path, or `None` when the path is not in normal form (dot
/// segments, encoded slashes, dots or backslashes): a service might resolve such a path to
/// another route than the one matched here, so it is refused rather than guessed.
fn normal_path(uri: &str) -> Option<Vec<&str>> {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    if !path.starts_with('/') || path.contains('\\') {
        return None;
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"].iter().any(|e| lower.contains(e)) {
        return None;
    }
    let parts: Vec<&str> = segments(path).collect();
    if parts.iter().any(|s| *s == "." || *s == "..") {
        return None;
    }
    Some(parts)
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The original request: method and URI.
fn original(request: &Request) -> (String, String) {
    let headers = request.headers();
    let method = header(headers, &["x-original-method", "x-forwarded-method"])
        .map_or_else(|| request.method().to_string(), str::to_owned);
    let uri = header(headers, &["x-original-uri", "x-forwarded-uri"]).map_or_else(
        || {
            let path = request.uri().path();
            let rest = path.strip_prefix(PATH).unwrap_or(path);
            if rest.is_empty() {
                "/".to_owned()
            } else {
                rest.to_owned()
            }
        },
        str::to_owned,
    );
    (method, uri)
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
    let (method, uri) = original(&request);
    let Some(path) = normal_path(&uri) else {
        return forbidden("the request path is not in normal form");
    };
    let route = state.gateway.find(&method, &path);
    let required = match header(request.headers(), &["x-required-permission"]) {
        Some(p) => match Permission::parse(p) {
            Ok(p) => Some(p),
            Err(_) => return forbidden("X-Required-Permission is not a permission"),
        },
        None => route.and_then(|r| r.permission.clone()),
    };
    if let Some(audience) = route.and_then(|r| r.audience.as_deref())
        && claims.aud != audience
    {
        return forbidden("the token is meant for another resource");
    }
    if let Some(wanted) = &required {
        let decision = authz::decide(claims, wanted, None);
        if !decision.allowed {
            return forbidden(&decision.reason);
        }
    }
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-user-id", &claims.sub);
    if let Some(role) = &claims.role {
        set("x-user-role", role);
    }
    if let Some(account) = &claims.account_id {
        set("x-client-id", account);
    }
    set("x-application-id", &claims.client_id);
    set("x-permissions", &claims.permissions.join(","));
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
        routes.find(method, &normal_path(uri).unwrap())
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
