//! The language of a page: the application's `ui_locales` for its sign-in, then the language
//! switch's cookie, then `Accept-Language`, then `DEFAULT_LOCALE`. Every page template has a
//! [`Ui`] as `ui`: its texts (`{{ ui.sign_in }}`), its `lang`, and the switch's links.

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
        }
    }

    /// The language of a request: `ui_locales` when it names a spoken one, then the switch's
    /// cookie, then `Accept-Language`, then `default`.
    pub fn negotiate(headers: &HeaderMap, https: bool, ui_locales: Option<&str>, default: Lang) -> Lang {
        ui_locales
            .and_then(Lang::first_of)
            .or_else(|| cookie(headers, cookie_name(https)).and_then(|c| Lang::parse(&c)))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(default)
    }

    /// The application's `ui_locales` for this sign-in comes first, when it names a spoken one.
    pub fn prefer(mut self, ui_locales: Option<&str>) -> Self {
        if let Some(lang) = ui_locales.and_then(Lang::first_of) {
            self.lang = lang;
        }
        self
    }

    /// Where the switch comes back to, when not the page's own address (a form's answer).
    pub fn at(mut self, here: impl Into<String>) -> Self {
        self.here = here.into();
        self
    }

    /// The switch: one link per language, back to this page.
    pub fn switch(&self) -> Vec<Switch> {
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
        let lang = Self::negotiate(
            &parts.headers,
            state.config.is_https(),
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
        Ok(Ui::new(lang, here))
    }
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    next: Option<String>,
}

/// `GET /lang/{code}?next=/path`: remembers the choice in a cookie and goes back to `next` (a
/// path of this server only; anything else goes to `/login`). When `next` belongs to a sign-in
/// (`req=`), the choice also replaces the application's `ui_locales` for that sign-in.
pub async fn switch(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
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
        .unwrap_or_else(|| "/login".to_owned());
    let req = next.split_once('?').and_then(|(_, query)| {
        url::form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| (k == "req").then(|| v.into_owned()))
    });
    if let (Some(req), Some(browser)) = (req, super::browser::browser_cookie(&state, &headers))
        && let Err(e) = crate::oauth::authorize::choose_language(&state.provider, &req, &browser, lang).await
    {
        tracing::warn!(error = %e, "the language of a sign-in could not be recorded");
    }
    let https = state.config.is_https();
    let set = [session::set_cookie(cookie_name(https), lang.as_str(), https, REMEMBER)];
    redirect(&next, &set)
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
