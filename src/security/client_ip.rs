//! The client's address: the socket peer, or — only when the peer is a trusted proxy (the
//! gateway, `PROPUSK_TRUSTED_PROXIES`) — the nearest untrusted address in `X-Forwarded-For`.
//! Addresses a client wrote into the header itself sit left of what the proxies appended, so
//! walking from the right and stopping at the first untrusted hop cannot be spoofed.

use std::net::IpAddr;

use axum::http::HeaderMap;

use crate::config::IpNet;

/// The address rate limits, lockouts and the audit trail key on.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Garbage in the chain: trust nothing left of it.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    None
}

/// IPv4-mapped IPv6 addresses as plain IPv4, so one client has one key.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(
                "x-forwarded-for",
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn the_peer_decides_unless_it_is_a_trusted_proxy() {
        let trusted = nets(&["10.0.0.0/8"]);
        let cases: &[(&str, &[&str], &str)] = &[
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            ("10.0.0.5", &["198.51.100.1"], "198.51.100.1"),
            ("10.0.0.5", &["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
            ("10.0.0.5", &["198.51.100.1, 10.0.0.7"], "198.51.100.1"),
            ("10.0.0.5", &["6.6.6.6", "198.51.100.1"], "198.51.100.1"),
            ("10.0.0.5", &["[2001:db8::1]:4711"], "2001:db8::1"),
            ("10.0.0.5", &["198.51.100.1:4711"], "198.51.100.1"),
            ("10.0.0.5", &["6.6.6.6, nonsense"], "10.0.0.5"),
            ("10.0.0.5", &[], "10.0.0.5"),
            ("::ffff:10.0.0.5", &["198.51.100.1"], "198.51.100.1"),
            ("::ffff:203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
        ];
        for (peer, xff, want) in cases {
            assert_eq!(client_ip(ip(peer), &headers(xff), &trusted), ip(want), "{peer} {xff:?}");
        }
        assert_eq!(
            client_ip(ip("10.0.0.5"), &headers(&["198.51.100.1"]), &[]),
            ip("10.0.0.5"),
            "no trusted proxies: the header is ignored"
        );
    }
}
