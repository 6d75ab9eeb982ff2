//! PEM armour (RFC 7468) for PKCS#8 private keys.

use base64::Engine as _;

const LABEL: &str = "PRIVATE KEY";

/// DER → `-----BEGIN PRIVATE KEY-----` PEM, 64-column lines.
pub fn encode(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {LABEL}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {LABEL}-----\n"));
    out
}

/// PEM → DER; `None` unless the text holds exactly one PKCS#8 private key block.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {LABEL}-----");
    let end = format!("-----END {LABEL}-----");
    let body = text.trim().strip_prefix(&begin)?.strip_suffix(&end)?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pem_round_trips() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = super::encode(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(super::decode(&pem).unwrap(), der);
        assert!(super::decode("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----").is_none());
    }
}
