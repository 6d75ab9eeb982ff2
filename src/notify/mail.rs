//! Email over SMTP (lettre): `smtp://host:port` (add `?tls=required` for STARTTLS), or
//! `smtps://host:port` for implicit TLS; credentials in the URL's user info.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::NotifyError;
use crate::i18n::{Lang, Msg};

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A rendered message: subject and plain-text body.
#[derive(Debug, Clone)]
pub struct Message {
    /// What it is, for logs (never the content).
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(url: &SecretString, from: &str) -> Result<Self, NotifyError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| NotifyError::Refused(format!("bad SMTP URL: {e}")))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| NotifyError::Refused(format!("bad sender address: {e}")))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, to: &str, message: &Message) -> Result<(), NotifyError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| NotifyError::Refused(format!("bad recipient: {e}")))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| NotifyError::Refused(e.to_string()))?;
        self.transport.send(email).await.map(drop).map_err(|e| {
            if e.is_permanent() {
                NotifyError::Refused(e.to_string())
            } else {
                NotifyError::Unavailable(e.to_string())
            }
        })
    }
}

fn message(kind: &'static str, subject: String, body: String) -> Message {
    Message { kind, subject, body }
}

/// A one-time code in `lang`; `purpose` says what it is for (sign in, verify an address).
pub fn code(lang: Lang, code: &str, purpose: Msg, minutes: i64) -> Message {
    let minutes = minutes.to_string();
    let values = [
        ("code", code),
        ("purpose", purpose.text(lang)),
        ("minutes", minutes.as_str()),
    ];
    message(
        "code",
        Msg::CodeMailSubject.fill(lang, &values),
        Msg::CodeMailBody.fill(lang, &values),
    )
}

/// A password-reset link in `lang`.
pub fn reset(lang: Lang, link: &str, minutes: i64) -> Message {
    let minutes = minutes.to_string();
    let values = [("link", link), ("minutes", minutes.as_str())];
    message(
        "reset",
        Msg::ResetMailSubject.fill(lang, &[]),
        Msg::ResetMailBody.fill(lang, &values),
    )
}

/// A security notice in `lang`: what happened, when, from where, and what to do if it was not
/// them.
pub fn notice(lang: Lang, what: Msg, when: &str, from: Option<&str>) -> Message {
    let from = from.unwrap_or(Msg::UnknownSource.text(lang));
    let values = [("what", what.text(lang)), ("when", when), ("from", from)];
    message(
        "notice",
        Msg::NoticeSubject.fill(lang, &values),
        Msg::NoticeBody.fill(lang, &values),
    )
}
