//! Message catalogues: every text Propusk sends a person in a mail or an SMS, in English and
//! Russian. A message is declared once with both texts (the macro takes no entry without both, so
//! a missing translation does not compile); `{name}` marks a value filled in by [`Msg::fill`], and
//! a test checks that both languages use the same names.
//!
//! Which language: the user's stored `locale` (its primary subtag), else `DEFAULT_LOCALE`.
//!
//! The pages' texts are in [`pages`]; a page's language is negotiated by `http::ui`
//! (`ui_locales`, then the language switch's cookie, then `Accept-Language`, then the default).

use std::fmt;

pub mod pages;

pub use pages::Texts;

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

    /// The language's name in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ru => "Русский",
        }
    }

    /// The pages' texts in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &pages::EN,
            Lang::Ru => &pages::RU,
        }
    }

    /// The first spoken language of a space-separated preference list (`ui_locales`,
    /// OpenID Connect Core §3.1.2.1).
    pub fn first_of(list: &str) -> Option<Self> {
        list.split_ascii_whitespace().take(16).find_map(Lang::parse)
    }

    /// The spoken language an `Accept-Language` header prefers most (RFC 9110 §12.5.4): the
    /// highest `q`, the first listed among equals; none when it names none (or only with `q=0`).
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), quality);
            let Some(q) = q.filter(|q| *q > 0) else { continue };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// `n` with its unit in this language's plural form: `units` is `one|other` in English,
    /// `one|few|many` in Russian (`2 минуты`, `5 минут`, `21 минуту`).
    pub fn count(self, n: i64, units: &str) -> String {
        let forms: Vec<&str> = units.split('|').collect();
        let pick = match self {
            Lang::En => usize::from(n != 1),
            Lang::Ru => {
                let (ten, hundred) = (n.rem_euclid(10), n.rem_euclid(100));
                if ten == 1 && hundred != 11 {
                    0
                } else if (2..=4).contains(&ten) && !(12..=14).contains(&hundred) {
                    1
                } else {
                    2
                }
            }
        };
        let unit = forms.get(pick).or(forms.last()).copied().unwrap_or_default();
        format!("{n} {unit}")
    }

    /// "45 seconds", "3 minutes", "2 hours" (rounded up) in this language.
    pub fn wait(self, secs: i64) -> String {
        let t = self.texts();
        match secs {
            ..=59 => self.count(secs.max(1), t.unit_second),
            60..=3599 => self.count((secs + 59) / 60, t.unit_minute),
            _ => self.count(secs.saturating_add(3599) / 3600, t.unit_hour),
        }
    }
}

/// An `Accept-Language` quality value in thousandths (`0.8` → 800); none when malformed.
fn quality(v: &str) -> Option<u16> {
    let v = v.trim();
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

/// `text` with each `{name}` replaced by its value.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
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
    NoticeRecoveryCodes => {
        en: "New recovery codes were made for your account; the old ones no longer work",
        ru: "Для вашего аккаунта созданы новые коды восстановления; старые больше не действуют",
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
        fill(self.text(lang), values)
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

    /// Texts the same in both languages on purpose.
    const SAME: &[&str] = &[];

    #[test]
    fn every_page_text_has_both_languages_with_the_same_placeholders() {
        let (en, ru) = (pages::EN.entries(), pages::RU.entries());
        assert_eq!(en.len(), ru.len());
        for ((key, en), (_, ru)) in en.iter().zip(&ru) {
            assert!(!en.trim().is_empty() && !ru.trim().is_empty(), "{key} is empty");
            assert!(SAME.contains(key) || en != ru, "{key} is not translated");
            assert_eq!(placeholders(en), placeholders(ru), "{key}");
        }
        for units in [pages::EN.unit_second, pages::EN.unit_minute, pages::EN.unit_hour] {
            assert_eq!(units.split('|').count(), 2, "{units}");
        }
        for units in [pages::RU.unit_second, pages::RU.unit_minute, pages::RU.unit_hour] {
            assert_eq!(units.split('|').count(), 3, "{units}");
        }
    }

    #[test]
    fn accept_language_and_ui_locales_pick_a_spoken_language() {
        let al = Lang::from_accept_language;
        assert_eq!(al("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"), Some(Lang::Ru));
        assert_eq!(al("de-DE, en;q=0.5, ru;q=0.7"), Some(Lang::Ru));
        assert_eq!(al("en-GB;q=0.9, ru;q=0.9"), Some(Lang::En), "the first of equals");
        assert_eq!(al("ru;q=0, en;q=0.1"), Some(Lang::En), "q=0 is not acceptable");
        assert_eq!(al("ru;q=2, en;q=abc"), None, "malformed qualities are ignored");
        assert_eq!(al("de, fr"), None);
        assert_eq!(al(""), None);
        assert_eq!(Lang::first_of("de ru-RU en"), Some(Lang::Ru));
        assert_eq!(Lang::first_of("fr"), None);
    }

    #[test]
    fn waits_are_counted_in_each_languages_plural() {
        assert_eq!(Lang::En.wait(1), "1 second");
        assert_eq!(Lang::En.wait(45), "45 seconds");
        assert_eq!(Lang::En.wait(61), "2 minutes");
        assert_eq!(Lang::Ru.wait(1), "1 секунду");
        assert_eq!(Lang::Ru.wait(3), "3 секунды");
        assert_eq!(Lang::Ru.wait(11), "11 секунд");
        assert_eq!(Lang::Ru.wait(21), "21 секунду");
        assert_eq!(Lang::Ru.wait(24 * 60), "24 минуты");
        assert_eq!(Lang::Ru.wait(5 * 3600), "5 часов");
        assert_eq!(Lang::En.wait(i64::MAX), format!("{} hours", i64::MAX / 3600));
        assert_eq!(Lang::En.wait(i64::MIN), "1 second");
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
