//! Email over SMTP (lettre): `smtp://host:port` (add `?tls=required` for STARTTLS), or
//! `smtps://host:port` for implicit TLS; credentials in the URL's user info.

use askama::Template;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::NotifyError;

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

#[derive(Template)]
#[template(path = "mail/code.txt")]
struct CodeMail<'a> {
    code: &'a str,
    purpose: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/reset.txt")]
struct ResetMail<'a> {
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeMail<'a> {
    what: &'a str,
    when: &'a str,
    from: &'a str,
    advice: &'a str,
}

fn render(kind: &'static str, subject: &str, template: &impl Template) -> Result<Message, super::NotifyError> {
    let body = template
        .render()
        .map_err(|e| super::NotifyError::Render(kind, e.to_string()))?;
    Ok(Message {
        kind,
        subject: subject.to_owned(),
        body,
    })
}

/// A one-time code; `purpose` says what it is for ("sign in", "verify your email address").
pub fn code(code: &str, purpose: &str, minutes: i64) -> Result<Message, super::NotifyError> {
    render(
        "code",
        &format!("Your code to {purpose}: {code}"),
        &CodeMail { code, purpose, minutes },
    )
}

/// A password-reset link.
pub fn reset(link: &str, minutes: i64) -> Result<Message, super::NotifyError> {
    render("reset", "Reset your password", &ResetMail { link, minutes })
}

/// A security notice: what happened, when, from where, and what to do if it was not them.
pub fn notice(what: &str, when: &str, from: &str) -> Result<Message, super::NotifyError> {
    let advice = "If this was not you, reset your password now and tell your administrator.";
    render(
        "notice",
        &format!("Security notice: {what}"),
        &NoticeMail {
            what,
            when,
            from,
            advice,
        },
    )
}
