//! Message catalogues: every text Propusk sends a person in a mail or an SMS, in English and
//! Russian. A message is declared once with both texts (the macro takes no entry without both, so
//! a missing translation does not compile); `{name}` marks a value filled in by [`Msg::fill`], and
//! a test checks that both languages use the same names.
//!
//! Which language: the user's stored `locale` (its primary subtag), else `DEFAULT_LOCALE`.

use std::fmt;

/// A language Propusk speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Ru,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ru];

    /// The language of a BCP 47 tag (`ru`, `ru-RU`, `en_GB`), if Propusk speaks it.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The user's language when set and spoken, else `default`.
    pub fn for_user(locale: Option<&str>, default: Lang) -> Self {
        locale.and_then(Lang::parse).unwrap_or(default)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! catalogue {
    ($($key:ident => { en: $en:literal, ru: $ru:literal $(,)? },)*) => {
        /// A message of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg {
            $($key,)*
        }

        impl Msg {
            /// Every message, for tests.
            pub const ALL: &'static [Msg] = &[$(Msg::$key,)*];

            /// The text in `lang`, with its `{placeholders}`.
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(
                        (Msg::$key, Lang::En) => $en,
                        (Msg::$key, Lang::Ru) => $ru,
                    )*
                }
            }
        }
    };
}

catalogue! {
    CodeMailSubject => {
        en: "Your code to {purpose}: {code}",
        ru: "Ваш код, чтобы {purpose}: {code}",
    },
    CodeMailBody => {
        en: "Your code to {purpose} is:\n\n    {code}\n\nIt works once, for the next {minutes} minutes. Never share it: we will not ask you for it.\nIf you did not ask for this code, someone may know your password; change it.\n",
        ru: "Ваш код, чтобы {purpose}:\n\n    {code}\n\nОн действует один раз, следующие {minutes} мин. Никому его не сообщайте: мы его не спрашиваем.\nЕсли вы не запрашивали код, кто-то может знать ваш пароль; смените его.\n",
    },
    PurposeSignIn => { en: "sign in", ru: "войти" },
    PurposeVerifyEmail => { en: "verify your email address", ru: "подтвердить адрес почты" },
    SignInSms => {
        en: "{code} is your sign-in code. It expires in {minutes} minutes. Never share it.",
        ru: "{code} — ваш код для входа. Действует {minutes} мин. Никому его не сообщайте.",
    },
    VerifyPhoneSms => {
        en: "{code} is your code to verify this phone number. It expires in {minutes} minutes.",
        ru: "{code} — код для подтверждения этого номера. Действует {minutes} мин.",
    },
    ResetMailSubject => { en: "Reset your password", ru: "Сброс пароля" },
    ResetMailBody => {
        en: "Someone (hopefully you) asked to reset your password. To choose a new one, open:\n\n{link}\n\nThe link works once, for the next {minutes} minutes. If you did not ask for this, ignore\nthis message: your password stays as it is.\n",
        ru: "Кто-то (надеемся, вы) попросил сбросить ваш пароль. Чтобы задать новый, откройте:\n\n{link}\n\nСсылка действует один раз, следующие {minutes} мин. Если вы этого не просили, просто\nпроигнорируйте письмо: пароль останется прежним.\n",
    },
    NoticeSubject => { en: "Security notice: {what}", ru: "Уведомление безопасности: {what}" },
    NoticeBody => {
        en: "{what}.\n\nWhen: {when}\nFrom: {from}\n\nIf this was not you, reset your password now and tell your administrator.\n",
        ru: "{what}.\n\nКогда: {when}\nОткуда: {from}\n\nЕсли это были не вы, немедленно смените пароль и сообщите администратору.\n",
    },
    UnknownSource => { en: "unknown", ru: "неизвестно" },
    NoticeNewDevice => {
        en: "New sign-in to your account from a new device or browser",
        ru: "Новый вход в ваш аккаунт с нового устройства или браузера",
    },
    NoticeAccountLocked => {
        en: "Sign-in to your account is paused after repeated failed attempts",
        ru: "Вход в ваш аккаунт приостановлен после нескольких неудачных попыток",
    },
    NoticeSourceLocked => {
        en: "Sign-in from one device or network is paused after repeated failed attempts",
        ru: "Вход с одного устройства или из одной сети приостановлен после нескольких неудачных попыток",
    },
    NoticePasswordChanged => { en: "Your password was changed", ru: "Ваш пароль изменён" },
    NoticePasswordReset => { en: "Your password was reset", ru: "Ваш пароль сброшен" },
    NoticeAuthenticatorAdded => {
        en: "An authenticator app was added to your account",
        ru: "К вашему аккаунту добавлено приложение-аутентификатор",
    },
    NoticeFactorRemoved => {
        en: "A second factor was removed from your account",
        ru: "Из вашего аккаунта удалён второй фактор",
    },
    NoticeCodesOn => {
        en: "Sign-in codes by email or SMS were turned on for your account",
        ru: "Для вашего аккаунта включены коды входа по почте или SMS",
    },
    NoticeCodesOff => {
        en: "Sign-in codes by email or SMS were turned off for your account",
        ru: "Для вашего аккаунта отключены коды входа по почте или SMS",
    },
    NoticeFactorsReset => {
        en: "An administrator reset your second factors; set one up again at your next sign-in",
        ru: "Администратор сбросил ваши вторые факторы; настройте новый при следующем входе",
    },
    NoticeEmailRemoved => { en: "The email of your account was removed", ru: "Адрес почты вашего аккаунта удалён" },
    NoticePhoneRemoved => { en: "The phone of your account was removed", ru: "Номер телефона вашего аккаунта удалён" },
    NoticeEmailChanged => { en: "The email of your account was changed", ru: "Адрес почты вашего аккаунта изменён" },
    NoticePhoneChanged => { en: "The phone of your account was changed", ru: "Номер телефона вашего аккаунта изменён" },
}

impl Msg {
    /// The text in `lang` with each `{name}` replaced by its value.
    pub fn fill(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut out = self.text(lang).to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(text: &str) -> Vec<&str> {
        let mut names: Vec<&str> = text
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    #[test]
    fn every_message_has_both_languages_with_the_same_placeholders() {
        for msg in Msg::ALL {
            let (en, ru) = (msg.text(Lang::En), msg.text(Lang::Ru));
            assert!(!en.trim().is_empty() && !ru.trim().is_empty(), "{msg:?}");
            assert_ne!(en, ru, "{msg:?} is not translated");
            assert_eq!(placeholders(en), placeholders(ru), "{msg:?}");
        }
    }

    #[test]
    fn languages_come_from_the_users_locale_or_the_default() {
        assert_eq!(Lang::for_user(Some("ru-RU"), Lang::En), Lang::Ru);
        assert_eq!(Lang::for_user(Some("en_GB"), Lang::Ru), Lang::En);
        assert_eq!(
            Lang::for_user(Some("de"), Lang::Ru),
            Lang::Ru,
            "not spoken: the default"
        );
        assert_eq!(Lang::for_user(None, Lang::En), Lang::En);
        assert_eq!(
            Msg::SignInSms.fill(Lang::Ru, &[("code", "123456"), ("minutes", "5")]),
            "123456 — ваш код для входа. Действует 5 мин. Никому его не сообщайте."
        );
    }
}
