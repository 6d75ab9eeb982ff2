//! Messages to users: email over SMTP (`PROPUSK_SMTP_URL`, `PROPUSK_SMTP_FROM`) and SMS through
//! a provider: an HTTP webhook (`PROPUSK_SMS_WEBHOOK_URL`) or, in development, the log.
//! Sending never blocks a sign-in on a slow provider longer than its timeout.

pub mod mail;
pub mod sms;

use std::sync::Arc;

use crate::config::Config;
use crate::i18n::{Lang, Msg};

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(
        "no mail server or SMS provider is configured (PROPUSK_SMTP_URL and PROPUSK_SMTP_FROM, PROPUSK_SMS_WEBHOOK_URL)"
    )]
    NotConfigured,
    #[error("the provider refused the message: {0}")]
    Refused(String),
    #[error("the provider is unreachable: {0}")]
    Unavailable(String),
}

/// Mail and SMS, as configured.
#[derive(Clone)]
pub struct Notifier {
    pub mail: Option<Arc<mail::Mailer>>,
    pub sms: Arc<dyn sms::SmsSender>,
    /// The language of users without a locale of their own (`DEFAULT_LOCALE`).
    pub default_lang: Lang,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("mail", &self.mail.is_some())
            .field("sms", &self.sms.name())
            .finish()
    }
}

impl Notifier {
    pub fn from_config(config: &Config) -> Result<Self, NotifyError> {
        let mail = match (&config.smtp_url, &config.smtp_from) {
            (Some(url), Some(from)) => Some(Arc::new(mail::Mailer::new(url, from)?)),
            _ => None,
        };
        let sms: Arc<dyn sms::SmsSender> = match &config.sms_webhook_url {
            Some(url) => Arc::new(sms::Webhook::new(url.clone())),
            None => Arc::new(sms::LogOnly {
                development: !config.is_https(),
            }),
        };
        Ok(Self {
            mail,
            sms,
            default_lang: config.default_locale,
        })
    }

    /// The language `user` reads: their profile's `locale`, else `DEFAULT_LOCALE`.
    pub fn lang_of(&self, user: &crate::model::user::User) -> Lang {
        Lang::for_user(user.profile.locale.as_deref(), self.default_lang)
    }

    /// Sends an email; an error when mail is not configured or the server refuses it.
    pub async fn email(&self, to: &str, message: &mail::Message) -> Result<(), NotifyError> {
        match &self.mail {
            Some(mailer) => mailer.send(to, message).await,
            None => Err(NotifyError::NotConfigured),
        }
    }

    /// Mails `user` a security notice (in the background, in their language) when they have
    /// an address.
    pub fn notice(&self, user: &crate::model::user::User, what: Msg, ip: Option<&str>, at: time::OffsetDateTime) {
        let Some(email) = &user.email else { return };
        let when = at
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_default();
        let message = mail::notice(self.lang_of(user), what, &when, ip);
        self.email_later(email.as_str().to_owned(), message);
    }

    /// Sends an email in the background (security notices: best effort, logged on failure).
    pub fn email_later(&self, to: String, message: mail::Message) {
        let Some(mailer) = self.mail.clone() else { return };
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &message).await {
                tracing::warn!(error = %e, kind = message.kind, "a notice could not be mailed");
            }
        });
    }
}
