//! Talking to upstream OpenID providers: discovery and JWKS (cached per issuer, the key set
//! refetched when an ID token names a key it does not hold), and the `openidconnect` client of
//! one identity provider. Every call has a timeout, follows no redirect (an IdP must not bounce
//! Propusk's back channel elsewhere) and reads at most [`MAX_BODY`] bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthType, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    JsonWebKeySet, ProviderMetadata, RedirectUrl,
};
use serde::{Deserialize, Serialize};

/// The most an upstream document (metadata, key set, userinfo) may weigh.
pub const MAX_BODY: usize = 256 * 1024;
/// How long discovery metadata and keys are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The shortest gap between two key-set fetches of one issuer (an unknown `kid` triggers one).
const JWKS_REFETCH_GAP: Duration = Duration::from_secs(10);
/// How long a failed discovery is remembered: sign-ins to a provider that is down fail at once
/// instead of each waiting for its own timeout.
const FAILURE_TTL: Duration = Duration::from_secs(15);

/// Provider metadata beyond what `openidconnect` models: RFC 9207's `iss` parameter flag.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssParameter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for IssParameter {}

/// An upstream's discovery metadata with its key set.
pub type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The relying-party client of one identity provider.
pub type UpstreamClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// Why an upstream could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No answer: refused, timed out, or an HTTP error status.
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what the protocol requires.
    #[error("the identity provider's answer is not valid: {0}")]
    Invalid(String),
}

struct Cached {
    metadata: Arc<Metadata>,
    fetched: Instant,
    /// When the keys were last fetched again for an unknown `kid` (discovery fetches them too,
    /// but a rotation right after discovery must still be picked up).
    refetched: Option<Instant>,
}

/// The upstream HTTP client and the metadata cache.
pub struct Upstreams {
    /// Built at the first upstream call: a server without SSO never loads the TLS roots.
    http: std::sync::OnceLock<reqwest::Client>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Recent discovery failures by issuer.
    failures: Mutex<HashMap<String, (Instant, String)>>,
    /// Plain-http issuers (on loopback) are used only when Propusk itself runs over http, in
    /// development and tests: a production server talks to upstreams over https alone.
    allow_http: bool,
}

impl Upstreams {
    pub fn new(allow_http: bool) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            cache: Mutex::default(),
            failures: Mutex::default(),
            allow_http,
        }
    }

    /// Whether a client-given URL (`jwks_uri`, `backchannel_logout_uri`) may be called: https
    /// to a public host (the resolver also refuses names that resolve to internal addresses),
    /// or anything in development (see `allow_http`).
    pub fn allows(&self, url: &str) -> bool {
        self.check_endpoint("the URL", url).is_ok()
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .user_agent(concat!("propusk/", env!("CARGO_PKG_VERSION")));
            if !self.allow_http {
                builder = builder.dns_resolver(Arc::new(PublicOnly));
            }
            builder.build().unwrap_or_else(|e| {
                tracing::error!(error = %e, "the upstream HTTP client could not be built");
                reqwest::Client::new()
            })
        })
    }

    /// The metadata and keys of `issuer` (cached for an hour). The document's `issuer` must be
    /// the configured one (a trailing slash aside), as OpenID Connect Discovery §4.3 requires.
    pub async fn metadata(&self, issuer: &str) -> Result<Arc<Metadata>, UpstreamError> {
        if let Some(cached) = self.cached(issuer, |c| c.fetched.elapsed() < METADATA_TTL) {
            return Ok(cached);
        }
        let failed = self
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(issuer)
            .filter(|(at, _)| at.elapsed() < FAILURE_TTL)
            .map(|(_, why)| why.clone());
        if let Some(why) = failed {
            return Err(UpstreamError::Unreachable(format!("{why} (remembered)")));
        }
        match self.discover(issuer).await {
            Ok(metadata) => {
                self.store(issuer, metadata.clone(), true);
                Ok(metadata)
            }
            Err(e) => {
                let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
                failures.retain(|_, (at, _)| at.elapsed() < FAILURE_TTL);
                failures.insert(issuer.to_owned(), (Instant::now(), e.to_string()));
                Err(e)
            }
        }
    }

    async fn discover(&self, issuer: &str) -> Result<Arc<Metadata>, UpstreamError> {
        self.check_endpoint("issuer", issuer)?;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let metadata: Metadata = serde_json::from_slice(&self.get(&url, None).await?)
            .map_err(|e| UpstreamError::Invalid(format!("discovery document: {e}")))?;
        if metadata.issuer().as_str().trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(UpstreamError::Invalid(format!(
                "the discovery document names issuer {:?}, not {issuer:?}",
                metadata.issuer().as_str()
            )));
        }
        // The back channel carries the client secret and tokens: every endpoint the document
        // names must be as safe as the issuer.
        self.check_endpoint("jwks_uri", metadata.jwks_uri().url().as_str())?;
        self.check_endpoint(
            "authorization_endpoint",
            metadata.authorization_endpoint().url().as_str(),
        )?;
        if let Some(token) = metadata.token_endpoint() {
            self.check_endpoint("token_endpoint", token.url().as_str())?;
        }
        if let Some(userinfo) = metadata.userinfo_endpoint() {
            self.check_endpoint("userinfo_endpoint", userinfo.url().as_str())?;
        }
        let keys = self.keys(&metadata).await?;
        Ok(Arc::new(metadata.set_jwks(keys)))
    }

    /// An upstream URL Propusk may call: https to a host that is not an address of this machine
    /// or its private networks (plain http, and any host, only on development servers).
    fn check_endpoint(&self, what: &str, url: &str) -> Result<(), UpstreamError> {
        if self.allow_http {
            return Ok(());
        }
        let parsed = url::Url::parse(url).map_err(|e| UpstreamError::Invalid(format!("{what}: {e}")))?;
        if parsed.scheme() != "https" {
            return Err(UpstreamError::Invalid(format!(
                "{what} {url} is not https (plain http is for development servers only)"
            )));
        }
        if internal_host(parsed.host()) {
            return Err(UpstreamError::Invalid(format!(
                "{what} {url} points at an internal address"
            )));
        }
        Ok(())
    }

    /// Fetches the key set again after an ID token named a key the cache lacks; `None` when it
    /// was fetched moments ago (so a flood of unknown `kid`s cannot hammer the upstream).
    pub async fn refresh_keys(
        &self,
        issuer: &str,
        metadata: &Metadata,
    ) -> Result<Option<Arc<Metadata>>, UpstreamError> {
        {
            // Reserve the fetch under the lock: parallel callers do not all get through.
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(entry) = cache.get_mut(issuer) else {
                return Ok(None);
            };
            if entry.refetched.is_some_and(|at| at.elapsed() < JWKS_REFETCH_GAP) {
                return Ok(None);
            }
            entry.refetched = Some(Instant::now());
        }
        let keys = self.keys(metadata).await?;
        let metadata = Arc::new(metadata.clone().set_jwks(keys));
        self.store(issuer, metadata.clone(), false);
        Ok(Some(metadata))
    }

    async fn keys(&self, metadata: &Metadata) -> Result<JsonWebKeySet<CoreJsonWebKey>, UpstreamError> {
        let body = self.get(metadata.jwks_uri().url().as_str(), None).await?;
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Invalid(format!("key set: {e}")))
    }

    fn cached(&self, issuer: &str, fresh: impl Fn(&Cached) -> bool) -> Option<Arc<Metadata>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(issuer).filter(|c| fresh(c)).map(|c| c.metadata.clone())
    }

    fn store(&self, issuer: &str, metadata: Arc<Metadata>, discovered: bool) {
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (fetched, refetched) = match cache.get(issuer) {
            Some(old) if !discovered => (old.fetched, Some(now)),
            Some(old) => (now, old.refetched),
            None => (now, None),
        };
        cache.insert(
            issuer.to_owned(),
            Cached {
                metadata,
                fetched,
                refetched,
            },
        );
    }

    /// GETs `url` (with a bearer token when given): the body of a 2xx answer, at most
    /// [`MAX_BODY`] bytes.
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, UpstreamError> {
        let mut request = self.http().get(url).header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("{url}: {}", without_url(&e))))?;
        if !response.status().is_success() {
            return Err(UpstreamError::Unreachable(format!("{url}: HTTP {}", response.status())));
        }
        read_capped(&mut response, url).await
    }

    /// Sends a request `openidconnect` built (the code exchange) under the same limits: no
    /// redirect, the timeouts, at most [`MAX_BODY`] bytes read.
    pub async fn send(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, UpstreamError> {
        let url = request.uri().to_string();
        let (parts, body) = request.into_parts();
        let mut response = self
            .http()
            .request(parts.method, &url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("{url}: {}", without_url(&e))))?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let body = read_capped(&mut response, &url).await?;
        answer
            .body(body)
            .map_err(|e| UpstreamError::Invalid(format!("{url}: {e}")))
    }
}

/// The code exchange's HTTP client: [`Upstreams::send`].
pub struct Capped<'a>(pub &'a Upstreams);

impl<'c> openidconnect::AsyncHttpClient<'c> for Capped<'_> {
    type Error = UpstreamError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, UpstreamError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(self.0.send(request))
    }
}

/// True for a host that names this machine or a private network (literal addresses and
/// `localhost`; names are checked again once resolved, by [`PublicOnly`]).
fn internal_host(host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Ipv4(ip)) => internal_ip(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => internal_ip(std::net::IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => true,
    }
}

/// True for an address of this machine, a private, shared (CGNAT), link-local (cloud metadata)
/// or otherwise non-public network.
fn internal_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let embedded = v6.to_ipv4_mapped().or_else(|| {
                // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
                let s = v6.segments();
                (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0])
                    .then(|| std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
            });
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || v6.is_multicast()
                || embedded.is_some_and(|v4| internal_ip(IpAddr::V4(v4)))
        }
    }
}

/// A DNS resolver that drops internal addresses: a public-looking name that resolves (or is
/// rebound) to this machine or a private network is refused at connection time.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let public: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !internal_ip(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The body of `response`, refused past [`MAX_BODY`] bytes.
async fn read_capped(response: &mut reqwest::Response, url: &str) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Unreachable(format!("{url}: {}", without_url(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamError::Invalid(format!(
                "{url}: the answer exceeds {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error's cause without the URL (the caller names it once).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    match std::error::Error::source(e) {
        Some(source) => format!("{text}: {source}"),
        None => text,
    }
}

/// The relying-party client for one provider: its client id and secret at the upstream and
/// Propusk's callback. The token endpoint gets the secret the way the upstream supports.
pub fn client(
    metadata: &Metadata,
    client_id: &str,
    secret: Option<String>,
    callback: &str,
) -> Result<UpstreamClient, UpstreamError> {
    let redirect =
        RedirectUrl::new(callback.to_owned()).map_err(|e| UpstreamError::Invalid(format!("callback URL: {e}")))?;
    let basic = metadata
        .token_endpoint_auth_methods_supported()
        .is_none_or(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretBasic));
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(client_id.to_owned()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(redirect)
    .set_auth_type(if basic {
        AuthType::BasicAuth
    } else {
        AuthType::RequestBody
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_servers_call_https_endpoints_outside_this_machine_and_its_networks_only() {
        crate::crypto::install_tls_provider();
        let production = Upstreams::new(false);
        // Client-given URLs (jwks_uri, backchannel_logout_uri) follow the same rule.
        assert!(production.allows("https://partner.example/jwks.json"));
        for internal in [
            "http://partner.example/jwks.json",
            "https://10.0.0.7:8443/jwks",
            "https://[::1]/logout",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
            "not a url",
        ] {
            assert!(!production.allows(internal), "{internal}");
        }
        assert!(Upstreams::new(true).allows("http://127.0.0.1:9/jwks"), "development");
        assert!(
            production
                .check_endpoint("issuer", "https://login.acme.example")
                .is_ok()
        );
        assert!(production.check_endpoint("issuer", "https://203.0.113.7/oidc").is_ok());
        for bad in [
            "http://login.acme.example",
            "https://127.0.0.1:8443",
            "https://10.1.2.3/token",
            "https://192.168.0.10",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/jwks",
            "https://[fd00::1]/jwks",
            "https://[::ffff:10.0.0.1]/jwks",
            "https://localhost/jwks",
            "https://idp.localhost/jwks",
            "https://localhost./jwks",
            "https://100.100.100.200/latest/meta-data",
            "https://0.1.2.3/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "not a url",
        ] {
            assert!(production.check_endpoint("jwks_uri", bad).is_err(), "{bad}");
        }
        assert!(
            !internal_ip("64:ff9b::808:808".parse().unwrap()),
            "NAT64 of a public address"
        );
        assert!(!internal_ip("8.8.8.8".parse().unwrap()));
        let development = Upstreams::new(true);
        assert!(development.check_endpoint("issuer", "http://127.0.0.1:9000").is_ok());
    }
}

#[cfg(test)]
mod resolver_tests {
    use super::*;
    use reqwest::dns::Resolve as _;

    #[tokio::test]
    async fn names_that_resolve_to_this_machine_are_refused_once_resolved() {
        // `localhost` stands for any public-looking name an attacker points at 127.0.0.1.
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let refused = PublicOnly.resolve(name).await;
        assert!(refused.is_err(), "only loopback addresses: nothing left to connect to");
    }
}
