//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the
//! client signs a short-lived JWT with its own key; we check it against the public keys it
//! registered (`jwks`) or publishes (`jwks_uri`, fetched through the hardened outgoing client and
//! cached for five minutes, fetched again once when a `kid` is unknown).
//!
//! The assertion must be RS256, PS256 or ES256 (never `none` or an HMAC: secrets are stored only
//! as hashes); `iss` and `sub` are the client_id; `aud` is the issuer or the token endpoint
//! URL; `exp` lies in the future by at most five minutes; `jti` is used once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lc_rs::signature;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::error::OAuthError;
use super::provider::Provider;
use crate::model::application::{Application, ClientId};

/// `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms an assertion may be signed with.
pub const ALGORITHMS: [&str; 3] = ["RS256", "PS256", "ES256"];

/// The longest an assertion may live from now.
const MAX_AHEAD: i64 = 300;
/// Clock skew allowed on `iat` and `nbf`.
const SKEW: i64 = 60;
/// Assertions longer than this are refused unread.
const MAX_BYTES: usize = 8 * 1024;
/// How long fetched keys are used before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(300);
/// A `jwks_uri` is fetched again for an unknown `kid` at most this often.
const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// Keys a failing `jwks_uri` last served are used at most this long after that fetch.
const STALE_FOR: Duration = Duration::from_secs(3600);
/// After a failed fetch, the URI is left alone this long.
const FAILED_FOR: Duration = Duration::from_secs(15);
/// Keys read from one set at most.
const MAX_KEYS: usize = 20;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Fetches a client's `jwks_uri` (the hardened outgoing client in production).
#[async_trait]
pub trait Fetch: Send + Sync {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String>;
}

#[async_trait]
impl Fetch for crate::outbound::Upstreams {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        if !self.allows(url) {
            return Err("the jwks_uri must be https".into());
        }
        crate::outbound::Upstreams::get(self, url, None)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The keys fetched from `jwks_uri`s, per URI.
pub struct ClientKeys {
    fetch: Arc<dyn Fetch>,
    cache: Mutex<KeyCache>,
}

/// Keys by `jwks_uri`.
type KeyCache = HashMap<String, Cached>;

/// The keys of one `jwks_uri` and the state of fetching them.
#[derive(Clone, Default)]
struct Cached {
    keys: Option<Arc<Vec<Key>>>,
    /// When the keys were last fetched successfully.
    fetched: Option<Instant>,
    /// When the fetch under way began (a fetch whose request was dropped counts for 15 s).
    fetching: Option<Instant>,
    failed: Option<Instant>,
}

impl ClientKeys {
    pub fn new(fetch: Arc<dyn Fetch>) -> Self {
        Self {
            fetch,
            cache: Mutex::default(),
        }
    }

    /// The keys of `app`: its registered set, or its `jwks_uri`'s (`fresh`: fetched again if the
    /// cached copy is older than [`REFETCH_EVERY`]). One fetch per URI at a time; while it runs,
    /// and for [`FAILED_FOR`] after a failed one, the cached keys (even stale) are used.
    async fn of(&self, app: &Application, fresh: bool) -> Result<Arc<Vec<Key>>, String> {
        if let Some(set) = &app.settings.jwks {
            return Ok(Arc::new(parse_set(set)?));
        }
        let Some(uri) = app.settings.jwks_uri.as_deref() else {
            return Err("the client has no keys".into());
        };
        let stale = {
            let mut cache = self.lock();
            let entry = cache.get(uri).cloned().unwrap_or_default();
            let age = entry.fetched.map(|at| at.elapsed());
            let due = age.is_none_or(|age| age >= KEYS_TTL || (fresh && age >= REFETCH_EVERY));
            let recent = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < FAILED_FOR);
            // Keys a failing jwks_uri last served stay usable for a while, never for ever.
            let stale = entry.keys.filter(|_| age.is_some_and(|age| age < STALE_FOR));
            if !due || recent(entry.fetching) || recent(entry.failed) {
                return stale.ok_or_else(|| "the client's keys are being fetched or could not be fetched".to_owned());
            }
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.entry(uri.to_owned()).or_default().fetching = Some(Instant::now());
            stale
        };
        let fetched = async {
            let body = self.fetch.get(uri).await?;
            let set: Value =
                serde_json::from_slice(&body).map_err(|_| "the jwks_uri did not answer with JSON".to_owned())?;
            usable_keys(&set)
        }
        .await;
        let mut cache = self.lock();
        let slot = cache.entry(uri.to_owned()).or_default();
        slot.fetching = None;
        match fetched {
            // What the client publishes now is what holds, even no usable key at all.
            Ok(keys) => {
                let keys = Arc::new(keys);
                slot.keys = Some(keys.clone());
                slot.fetched = Some(Instant::now());
                slot.failed = None;
                Ok(keys)
            }
            Err(e) => {
                slot.failed = Some(Instant::now());
                tracing::warn!(jwks_uri = uri, error = %e, "a client's keys could not be fetched");
                stale.ok_or(e)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A client's public key.
#[derive(Debug, Clone)]
pub struct Key {
    kid: Option<String>,
    alg: Option<String>,
    material: Material,
}

#[derive(Debug, Clone)]
enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point.
    P256(Vec<u8>),
}

/// Reads a JWK Set: RSA (2048 bits or more) and EC P-256 signing keys; others are skipped, and a
/// set with no usable key is refused.
pub fn parse_set(set: &Value) -> Result<Vec<Key>, String> {
    let usable = usable_keys(set)?;
    if usable.is_empty() {
        return Err("the JWK Set has no RSA (2048 bits or more) or EC P-256 signing key".into());
    }
    Ok(usable)
}

/// The usable keys of a JWK Set, possibly none; an error only when it is no JWK Set.
fn usable_keys(set: &Value) -> Result<Vec<Key>, String> {
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "a JWK Set is an object with a \"keys\" array".to_owned())?;
    Ok(keys.iter().take(MAX_KEYS).filter_map(parse_key).collect())
}

fn parse_key(jwk: &Value) -> Option<Key> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|v| B64.decode(v).ok());
    if text("use").is_some_and(|u| u != "sig") || jwk.get("d").is_some() {
        return None; // an encryption key, or a private one published by mistake
    }
    let material = match text("kty")? {
        "RSA" => {
            let n = bytes("n")?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            (significant >= 256).then_some(())?;
            Material::Rsa { n, e: bytes("e")? }
        }
        "EC" if text("crv") == Some("P-256") => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            (x.len() == 32 && y.len() == 32).then_some(())?;
            let mut point = vec![4];
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        _ => return None,
    };
    Some(Key {
        kid: text("kid").map(str::to_owned),
        alg: text("alg").map(str::to_owned),
        material,
    })
}

impl Key {
    fn verifies(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        if self.alg.as_deref().is_some_and(|a| a != alg) {
            return false;
        }
        match (&self.material, alg) {
            (Material::Rsa { n, e }, "RS256") => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            (Material::Rsa { n, e }, "PS256") => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, sig)
                .is_ok(),
            (Material::P256(point), "ES256") => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Value,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    jti: String,
}

/// The client_id an assertion claims to come from (unverified: only to find the client).
pub fn claimed_client(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_BYTES {
        return None;
    }
    let payload = assertion.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// Checks `assertion` as the authentication of `app`; every failure is `invalid_client` (the
/// reason goes to the log only).
pub async fn verify(
    provider: &Provider,
    keys: &ClientKeys,
    app: &Application,
    assertion: &str,
) -> Result<(), OAuthError> {
    let refused = |why: &str| {
        tracing::info!(client.id = %app.client_id, reason = why, "a client assertion was refused");
        OAuthError::invalid_client()
    };
    if !app.settings.private_key_jwt {
        return Err(refused("the client does not authenticate with private_key_jwt"));
    }
    if assertion.len() > MAX_BYTES {
        return Err(refused("the assertion is too long"));
    }
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, payload, sig] = parts.as_slice() else {
        return Err(refused("the assertion is not a compact JWS"));
    };
    let decode = |part: &str| B64.decode(part).map_err(|_| refused("the assertion is not base64url"));
    let header: Header = serde_json::from_slice(&decode(header)?).map_err(|_| refused("bad header"))?;
    if !ALGORITHMS.contains(&header.alg.as_str()) {
        return Err(refused("the assertion's alg is not RS256, PS256 or ES256"));
    }
    let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| refused("bad claims"))?;
    let signature = decode(sig)?;
    let message = &assertion.as_bytes()[..header_payload_len(assertion)];
    let verified = |keys: &[Key]| {
        keys.iter()
            .filter(|k| header.kid.is_none() || k.kid == header.kid)
            .any(|k| k.verifies(&header.alg, message, &signature))
    };
    let known = keys.of(app, false).await.map_err(|e| refused(&e))?;
    if !verified(&known) {
        // A key rotated at the client: fetch its set again (at most every 30 s) and retry.
        let fresh = keys.of(app, true).await.map_err(|e| refused(&e))?;
        if !verified(&fresh) {
            return Err(refused("no key of the client verifies the assertion"));
        }
    }
    let client = app.client_id.as_str();
    if claims.iss != client || claims.sub != client {
        return Err(refused("iss and sub must be the client_id"));
    }
    let token_endpoint = provider.endpoint("/token");
    let audience_ok = |a: &Value| a.as_str().is_some_and(|a| a == provider.issuer || a == token_endpoint);
    // One audience only: an assertion addressed to several parties at once is refused.
    let aud_ok = match &claims.aud {
        Value::Array(list) => list.len() == 1 && audience_ok(&list[0]),
        one => audience_ok(one),
    };
    if !aud_ok {
        return Err(refused("aud is neither the issuer nor the token endpoint"));
    }
    let now = provider.clock.now().unix_timestamp();
    if claims.exp <= now || claims.exp > now + MAX_AHEAD + SKEW {
        return Err(refused("exp is past or more than five minutes ahead"));
    }
    if claims.iat.is_some_and(|t| t > now + SKEW) || claims.nbf.is_some_and(|t| t > now + SKEW) {
        return Err(refused("the assertion is not valid yet"));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(refused("jti is missing or too long"));
    }
    let until = time::OffsetDateTime::from_unix_timestamp(claims.exp + SKEW).unwrap_or(provider.clock.now());
    let first = provider
        .state
        .first_assertion(client, &claims.jti, until)
        .await
        .map_err(OAuthError::from)?;
    if !first {
        return Err(refused("the assertion's jti was used before"));
    }
    Ok(())
}

fn header_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

/// The parsed client_id of a claimed assertion.
pub fn client_id_of(assertion: &str) -> Option<ClientId> {
    claimed_client(assertion).and_then(|id| ClientId::parse(&id).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_sets_keep_only_usable_signing_keys() {
        let ec = json!({"kty": "EC", "crv": "P-256", "kid": "a",
            "x": B64.encode([1u8; 32]), "y": B64.encode([2u8; 32])});
        let small_rsa = json!({"kty": "RSA", "n": B64.encode([0xffu8; 128]), "e": "AQAB"});
        let enc = json!({"kty": "EC", "crv": "P-256", "use": "enc",
            "x": B64.encode([1u8; 32]), "y": B64.encode([2u8; 32])});
        let private = json!({"kty": "EC", "crv": "P-256", "d": "x",
            "x": B64.encode([1u8; 32]), "y": B64.encode([2u8; 32])});
        let hmac = json!({"kty": "oct", "k": "c2VjcmV0"});
        let set = parse_set(&json!({"keys": [ec, small_rsa, enc, private, hmac]})).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].kid.as_deref(), Some("a"));
        assert!(parse_set(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).is_err());
        assert!(parse_set(&json!([1, 2])).is_err());
        assert!(parse_set(&json!({"keys": "x"})).is_err());
    }

    #[test]
    fn the_claimed_client_is_read_from_the_payload() {
        let payload = B64.encode(br#"{"iss":"app-1","sub":"app-1"}"#);
        assert_eq!(claimed_client(&format!("e30.{payload}.sig")).as_deref(), Some("app-1"));
        assert_eq!(claimed_client("nonsense"), None);
        assert_eq!(claimed_client(&"a".repeat(MAX_BYTES + 1)), None);
    }
}
