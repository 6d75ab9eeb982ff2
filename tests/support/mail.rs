//! The test SMTP server `scripts/test` starts, and the mails it received.

use super::*;

/// The test SMTP server (scripts/test starts it).
pub fn smtp_url() -> String {
    std::env::var("PROPUSK_TEST_SMTP_URL")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_SMTP_URL is not set: run the tests with scripts/test"))
}

/// Points a configuration at the test SMTP server.
pub fn with_mail(config: &mut Config) {
    config.smtp_url = Some(SecretString::from(smtp_url()));
    config.smtp_from = Some("Propusk <no-reply@propusk.test>".into());
}

/// Every message the test SMTP server received for `to`, oldest first, waiting up to 5 s for
/// at least `n` of them.
pub async fn mails_to(to: &str, n: usize) -> Vec<String> {
    let dir = std::env::var("PROPUSK_TEST_MAILDIR")
        .unwrap_or_else(|_| panic!("PROPUSK_TEST_MAILDIR is not set: run the tests with scripts/test"));
    let needle = format!("To: {to}");
    for _ in 0..100 {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(std::path::Path::new(&dir).join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.lines().any(|l| l.eq_ignore_ascii_case(&needle)) {
                    let modified = entry.metadata().and_then(|m| m.modified()).ok();
                    found.push((modified, entry.file_name(), text));
                }
            }
        }
        if found.len() >= n {
            found.sort();
            return found.into_iter().map(|(_, _, t)| t).collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} mails to {to} arrived");
}

/// The mails to `to` containing `needle`, waiting up to 5 s for at least `n` of them.
pub async fn mails_about(to: &str, needle: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let all = mails_to(to, 0).await;
        let found: Vec<String> = all.into_iter().filter(|m| m.contains(needle)).collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} mails to {to} about {needle:?} arrived");
}

/// The first run of six digits in a text (a one-time code in a mail or SMS).
pub fn six_digits(text: &str) -> String {
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(5) {
        let window = &bytes[i..i + 6];
        let before = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after = bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
        if before && after && window.iter().all(u8::is_ascii_digit) {
            return String::from_utf8(window.to_vec()).unwrap();
        }
    }
    panic!("no six-digit code in {text}");
}
