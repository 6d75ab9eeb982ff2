//! Rate limits (GCRA in the hot-state store, atomic across nodes): per client IP on the sign-in
//! forms, per application on the token endpoints, per caller on the admin API, and per target
//! on one-time-code sending. A refused request gets 429 with `Retry-After` and the `RateLimit`
//! / `RateLimit-Policy` fields of draft-ietf-httpapi-ratelimit-headers.

use std::net::IpAddr;

use time::Duration;

use crate::config::Config;
use crate::store::hot::HotState;
use crate::store::hot::Key;
use crate::store::{Rate, Throttle};

/// The configured limits; `None` is off.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub login: Option<Rate>,
    pub client: Option<Rate>,
    /// Applications with the introspect right (gateways) instead of `client`.
    pub gateway: Option<Rate>,
    pub admin: Option<Rate>,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            login: config.rate_limit_login,
            client: config.rate_limit_client,
            gateway: config.rate_limit_gateway,
            admin: config.rate_limit_admin,
        }
    }
}

/// One bucket to count a request against.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// The policy's name, as the `RateLimit` header shows it.
    pub policy: &'static str,
    /// Whose budget: a client address, an application, an admin caller.
    pub id: String,
    pub rate: Rate,
}

impl Bucket {
    pub fn new(policy: &'static str, id: &str, rate: Rate) -> Self {
        Self {
            policy,
            id: id.to_owned(),
            rate,
        }
    }

    /// The bucket of a client address (IPv6 clients by their /64, which one host usually holds).
    pub fn ip(policy: &'static str, ip: IpAddr, rate: Rate) -> Self {
        Self::new(policy, &source_key(ip), rate)
    }
}

/// How a client address is keyed: IPv4 as is, IPv6 by its /64 (what one host usually holds, so
/// hopping addresses inside it gains nothing).
pub fn source_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

pub use crate::model::rate::Limited;

/// Counts one request against every bucket, all or none. A store outage lets the request
/// through (and is logged): limits protect the service, they must not take it down.
pub async fn check(hot: &HotState, buckets: &[Bucket]) -> Result<(), Limited> {
    if buckets.is_empty() {
        return Ok(());
    }
    let keyed: Vec<(Key<'_>, Rate)> = buckets
        .iter()
        .map(|b| {
            (
                Key::RateLimit {
                    policy: b.policy,
                    id: &b.id,
                },
                b.rate,
            )
        })
        .collect();
    match hot.throttle(&keyed).await {
        Ok(Throttle::Allowed { .. }) => Ok(()),
        Ok(Throttle::Limited { index, retry_after_ms }) => {
            let bucket = &buckets[index.min(buckets.len() - 1)];
            tracing::info!(policy = bucket.policy, "rate limited");
            Err(Limited {
                policy: bucket.policy,
                rate: bucket.rate,
                retry_after: Duration::milliseconds(retry_after_ms),
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate limit not checked: the hot-state store failed");
            Ok(())
        }
    }
}

/// [`check`] of one optional bucket.
pub async fn check_one(hot: &HotState, bucket: Option<Bucket>) -> Result<(), Limited> {
    match bucket {
        Some(b) => check(hot, std::slice::from_ref(&b)).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_name_the_policy_and_the_wait() {
        let limited = Limited {
            policy: "login",
            rate: Rate::new(30, Duration::minutes(1)),
            retry_after: Duration::milliseconds(1_500),
        };
        let headers = limited.headers();
        let text: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
            .collect();
        assert_eq!(
            text,
            vec![
                ("retry-after", "2"),
                ("ratelimit-policy", "\"login\";q=30;w=60"),
                ("ratelimit", "\"login\";r=0;t=2"),
            ]
        );
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let rate = Rate::new(1, Duration::seconds(1));
        let a = Bucket::ip("login", "2001:db8:1:2::5".parse().unwrap_or(IpAddr::from([0; 4])), rate);
        let b = Bucket::ip(
            "login",
            "2001:db8:1:2:ffff::9".parse().unwrap_or(IpAddr::from([0; 4])),
            rate,
        );
        assert_eq!(a.id, b.id);
        assert_eq!(
            Key::RateLimit {
                policy: a.policy,
                id: &a.id
            }
            .to_string(),
            "rl:login:2001:db8:1:2::/64"
        );
    }
}
