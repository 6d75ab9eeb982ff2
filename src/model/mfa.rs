//! Second factors: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock skew; each step
//! accepted once), one-time codes by email or SMS to a verified address, and ten single-use
//! recovery codes stored as SHA-256 hashes. TOTP seeds are sealed with the master key.

use time::OffsetDateTime;
use totp_rs::{Builder, Secret};
use uuid::Uuid;

use super::name_enum;
use super::user::UserId;
use crate::crypto::sealed::{self, SealError};

name_enum!(
    /// The kind of a second factor.
    FactorKind { Totp = "totp", Email = "email", Sms = "sms" }
);

/// A user's second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: FactorKind,
    /// The sealed TOTP seed.
    pub secret_enc: Option<Vec<u8>>,
    /// The email address or phone number codes go to.
    pub target: Option<String>,
    /// Unconfirmed factors (a TOTP enrolment before its first code) do not count.
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last TOTP step accepted (no code is accepted twice).
    pub last_used_step: Option<i64>,
    pub created_at: OffsetDateTime,
}

impl Factor {
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// What the account API shows: never the seed.
    pub fn view(&self) -> serde_json::Value {
        let target = self.target.as_deref().map(mask);
        serde_json::json!({
            "id": self.id,
            "kind": self.kind,
            "target": target,
            "confirmed": self.is_confirmed(),
            "created_at": self.created_at.unix_timestamp(),
        })
    }
}

/// `a***@example.com`, `+44*******89`: enough to recognise, not to harvest.
pub fn mask(target: &str) -> String {
    if let Some((local, domain)) = target.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = target.chars().collect();
    let keep_start = chars.len().min(3);
    let keep_end = chars.len().saturating_sub(keep_start).min(2);
    let hidden = chars.len() - keep_start - keep_end;
    let mut out: String = chars[..keep_start].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - keep_end..]);
    out
}

/// TOTP seed length: 160 bits, as RFC 4226 §4 recommends.
pub const SEED_BYTES: usize = 20;

fn seal_context(user: UserId) -> String {
    format!("totp:{user}")
}

/// A new, unconfirmed TOTP factor and its seed in base32 (for the authenticator app).
pub fn new_totp(key: &[u8; 32], user: UserId, now: OffsetDateTime) -> Result<(Factor, String), SealError> {
    let mut seed = [0u8; SEED_BYTES];
    crate::crypto::fill(&mut seed);
    let base32 = Secret::from(seed.to_vec()).to_base32();
    let factor = Factor {
        id: Uuid::now_v7(),
        user_id: user,
        kind: FactorKind::Totp,
        secret_enc: Some(sealed::seal(key, &seal_context(user), &seed)?),
        target: None,
        confirmed_at: None,
        last_used_step: None,
        created_at: now,
    };
    Ok((factor, base32))
}

/// The seed of a TOTP factor, in base32 (for showing again during enrolment).
pub fn totp_base32(key: &[u8; 32], factor: &Factor) -> Result<String, SealError> {
    let sealed_seed = factor.secret_enc.as_deref().ok_or(SealError)?;
    let seed = sealed::open(key, &seal_context(factor.user_id), sealed_seed)?;
    Ok(Secret::from(seed).to_base32())
}

/// The `otpauth://` URI authenticator apps scan (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, base32: &str) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let issuer = utf8_percent_encode(issuer, NON_ALPHANUMERIC).to_string();
    let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!("otpauth://totp/{issuer}:{account}?secret={base32}&issuer={issuer}&algorithm=SHA1&digits=6&period=30")
}

/// The URI as an inline SVG QR code.
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build()
            // Inline in HTML: no XML declaration.
            .split_once("<svg")
            .map(|(_, rest)| format!("<svg{rest}"))
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The step a TOTP `code` is valid for at `now` (one step of skew either way), if any.
pub fn totp_step(key: &[u8; 32], factor: &Factor, code: &str, now: OffsetDateTime) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seed = sealed::open(key, &seal_context(factor.user_id), factor.secret_enc.as_deref()?).ok()?;
    let totp = Builder::new().with_secret(Secret::from(seed)).build().ok()?;
    let step = now.unix_timestamp().div_euclid(30);
    // Every candidate is computed and compared in constant time, whichever matches.
    let mut found = None;
    for candidate in [step - 1, step, step + 1] {
        let at = u64::try_from(candidate * 30).ok()?;
        if crate::crypto::same(&totp.generate(at).to_string(), code) && found.is_none() {
            found = Some(candidate);
        }
    }
    found
}

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

/// Ten new recovery codes (`xxxx-xxxx-xxxx`, 60 bits each) and their hashes.
pub fn new_recovery_codes() -> Vec<(String, Vec<u8>)> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 12];
            crate::crypto::fill(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            let code = format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..]);
            let hash = recovery_hash(&code);
            (code, hash)
        })
        .collect()
}

/// The stored form of a recovery code: SHA-256 of its normalised text.
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    crate::crypto::sha256(normal.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_codes_match_rfc_6238_within_one_step() {
        let key = [9u8; 32];
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let user = UserId::generate();
        let (factor, base32) = new_totp(&key, user, now).unwrap_or_else(|_| unreachable!());
        assert_eq!(totp_base32(&key, &factor).ok().as_deref(), Some(base32.as_str()));
        let seed = Secret::try_from_base32(&base32).unwrap_or_else(|_| unreachable!());
        let totp = Builder::new()
            .with_secret(seed)
            .build()
            .unwrap_or_else(|_| unreachable!());
        let step = now.unix_timestamp() / 30;
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = totp
                .generate(u64::try_from((step + offset) * 30).unwrap_or(0))
                .to_string();
            assert_eq!(
                totp_step(&key, &factor, &code, now),
                ok.then_some(step + offset),
                "{offset}"
            );
        }
        assert_eq!(totp_step(&key, &factor, "12345", now), None);
        assert_eq!(totp_step(&[1u8; 32], &factor, "123456", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_ignoring_case_and_dashes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(unique.len(), 10);
        let (code, hash) = &codes[0];
        assert_eq!(&recovery_hash(&code.to_uppercase().replace('-', " ")), hash);
    }

    #[test]
    fn targets_are_masked() {
        assert_eq!(mask("ann@example.com"), "a***@example.com");
        assert_eq!(mask("+447700900123"), "+44********23");
    }
}
