//! The language of a page: the application's `ui_locales` for its sign-in, then the language
//! switch's cookie, then `Accept-Language`, then `DEFAULT_LOCALE`. A choice made with the switch
//! after a sign-in began comes before that sign-in's `ui_locales` (the cookie says when it was
//! made), so the switch works on every page. Every page template has a [`Ui`] as `ui`: its
//! texts (`{{ ui.sign_in }}`), its `lang`, and the switch's links.

use std::ops::Deref;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use time::Duration;

use super::browser::{cookie, redirect};
use crate::http::AppState;
use crate::i18n::{Lang, Texts};
use crate::security::session;

/// How long the switch remembers a choice.
const REMEMBER: Duration = Duration::days(365);

/// The language switch's cookie.
pub fn cookie_name(https: bool) -> &'static str {
    if https { "__Host-propusk-lang" } else { "propusk_lang" }
}

/// A page's language and texts, and where the page is (for the switch to come back to).
#[derive(Debug, Clone)]
pub struct Ui {
    pub lang: Lang,
    here: String,
    /// When the user chose a language with the switch (unix seconds), if they did.
    chosen_at: Option<i64>,
    /// Whether the page shows the switch.
    switch: bool,
}

impl Deref for Ui {
    type Target = Texts;
    fn deref(&self) -> &Texts {
        self.lang.texts()
    }
}

/// One entry of the language switch.
pub struct Switch {
    pub lang: Lang,
    pub href: String,
    pub current: bool,
}

impl Ui {
    pub fn new(lang: Lang, here: impl Into<String>) -> Self {
        Self {
            lang,
            here: here.into(),
            chosen_at: None,
            switch: true,
        }
    }

    /// The language the switch's cookie holds, and when it was chosen (`ru.1764600000`; a bare
    /// `ru` counts as chosen long ago).
    fn chosen(headers: &HeaderMap, https: bool) -> Option<(Lang, i64)> {
        let value = cookie(headers, cookie_name(https))?;
        let (code, at) = value.split_once('.').unwrap_or((value.as_str(), "0"));
        let lang = Lang::parse(code).filter(|l| l.as_str() == code)?;
        Some((lang, at.parse().unwrap_or(0)))
    }

    /// The language of a request: `ui_locales` when it names a spoken one, then the switch's
    /// cookie, then `Accept-Language`, then `default`.
    pub fn negotiate(headers: &HeaderMap, https: bool, ui_locales: Option<&str>, default: Lang) -> Lang {
        ui_locales
            .and_then(Lang::first_of)
            .or_else(|| Self::chosen(headers, https).map(|(lang, _)| lang))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(default)
    }

    /// The application's `ui_locales` for a sign-in that began at `since` (unix seconds) comes
    /// first, when it names a spoken one — unless the user chose a language with the switch
    /// since.
    pub fn prefer(mut self, ui_locales: Option<&str>, since: i64) -> Self {
        if self.chosen_at.is_some_and(|at| at >= since) {
            return self;
        }
        if let Some(lang) = ui_locales.and_then(Lang::first_of) {
            self.lang = lang;
        }
        self
    }

    /// [`Ui::prefer`] with a parked authorization request's `ui_locales` and start.
    pub fn prefer_request(self, request: &crate::oauth::authorize::AuthorizationRequest) -> Self {
        self.prefer(request.ui_locales.as_deref(), request.requested_at)
    }

    /// The page shows no switch (a page whose address cannot be shown again, such as the
    /// form_post answer).
    pub fn without_switch(mut self) -> Self {
        self.switch = false;
        self
    }

    /// Where the switch comes back to, when not the page's own address (a form's answer).
    pub fn at(mut self, here: impl Into<String>) -> Self {
        self.here = here.into();
        self
    }

    /// The switch: one link per language, back to this page.
    pub fn switch(&self) -> Vec<Switch> {
        if !self.switch {
            return Vec::new();
        }
        let next = utf8_percent_encode(&self.here, NON_ALPHANUMERIC);
        Lang::ALL
            .iter()
            .map(|&lang| Switch {
                lang,
                href: format!("/lang/{lang}?next={next}"),
                current: lang == self.lang,
            })
            .collect()
    }

    /// `text` with its `{name}`s filled.
    pub fn fill(&self, text: &str, values: &[(&str, &str)]) -> String {
        crate::i18n::fill(text, values)
    }

    /// A wait in words ("3 minutes", "3 минуты").
    pub fn wait(&self, secs: i64) -> String {
        self.lang.wait(secs)
    }
}

#[derive(Deserialize)]
struct UiQuery {
    ui_locales: Option<String>,
}

impl FromRequestParts<AppState> for Ui {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ui_locales = Query::<UiQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|Query(q)| q.ui_locales);
        let https = state.config.is_https();
        let lang = Self::negotiate(
            &parts.headers,
            https,
            ui_locales.as_deref(),
            state.config.default_locale,
        );
        let here = match parts.method {
            axum::http::Method::GET => parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            _ => parts.uri.path().to_owned(),
        };
        let mut ui = Ui::new(lang, here);
        ui.chosen_at = Self::chosen(&parts.headers, https).map(|(_, at)| at);
        Ok(ui)
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    next: Option<String>,
}

/// `GET /lang/{code}?next=/path`: remembers the choice, and when it was made, in a cookie and
/// goes back to `next` (a path of this server only; anything else goes to `/login`) without its
/// `ui_locales`, which would otherwise outrank the choice. It writes no state of the server's.
pub async fn switch(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SwitchQuery>,
) -> Response {
    let Some(lang) = Lang::parse(&code).filter(|l| l.as_str() == code) else {
        return super::browser::error_page(
            &Ui::new(state.config.default_locale, "/login"),
            StatusCode::NOT_FOUND,
            state.config.default_locale.texts().something_wrong,
        );
    };
    let next = q
        .next
        .filter(|n| is_local_path(n))
        .map_or_else(|| "/login".to_owned(), |n| without_ui_locales(&n));
    let https = state.config.is_https();
    let value = format!("{lang}.{}", state.clock.now().unix_timestamp());
    let set = [session::set_cookie(cookie_name(https), &value, https, REMEMBER)];
    redirect(&next, &set)
}

/// `path?query` without its `ui_locales` parameter (the rest kept as it was written).
fn without_ui_locales(next: &str) -> String {
    let Some((path, query)) = next.split_once('?') else {
        return next.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some("ui_locales"))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

/// A path on this server: starts with one `/`, no scheme, no backslash, no control character.
fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && next.len() <= 2048
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_switch_goes_back_only_to_a_local_path() {
        assert!(is_local_path("/login?req=abc"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/a\r\nSet-Cookie: x=1"));
    }

    #[test]
    fn the_switch_drops_ui_locales_from_where_it_goes_back_to() {
        assert_eq!(without_ui_locales("/logout?ui_locales=ru"), "/logout");
        assert_eq!(
            without_ui_locales("/logout?client_id=a&ui_locales=ru%20en&state=s"),
            "/logout?client_id=a&state=s"
        );
        assert_eq!(without_ui_locales("/login"), "/login");
    }

    #[test]
    fn a_choice_made_after_a_sign_in_began_outranks_its_ui_locales() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "propusk_lang=en.2000".parse().unwrap());
        let ui = |h: &HeaderMap, since| {
            let mut ui = Ui::new(Ui::negotiate(h, false, None, Lang::Ru), "/");
            ui.chosen_at = Ui::chosen(h, false).map(|(_, at)| at);
            ui.prefer(Some("ru"), since).lang
        };
        assert_eq!(ui(&h, 1000), Lang::En, "chosen after the sign-in began");
        assert_eq!(ui(&h, 3000), Lang::Ru, "chosen before: the application's ui_locales");
        h.insert(header::COOKIE, "propusk_lang=xx.1".parse().unwrap());
        assert_eq!(Ui::chosen(&h, false), None);
    }

    #[test]
    fn ui_locales_then_cookie_then_accept_language_then_default() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, "ru".parse().unwrap());
        assert_eq!(Ui::negotiate(&h, false, None, Lang::En), Lang::Ru);
        h.insert(header::COOKIE, "propusk_lang=en".parse().unwrap());
        assert_eq!(Ui::negotiate(&h, false, None, Lang::Ru), Lang::En);
        assert_eq!(Ui::negotiate(&h, false, Some("ru en"), Lang::En), Lang::Ru);
        assert_eq!(Ui::negotiate(&HeaderMap::new(), false, Some("de"), Lang::Ru), Lang::Ru);
    }
}
