//! `GET /revocations`: the revocation feed for gateways that verify tokens offline (JWKS), as
//! Server-Sent Events. Every case of DESIGN.md's Revocation list arrives within a second: a
//! denied `jti`, `session` (sid) or refresh `family` with the time it ends (`until`), or a
//! generation moved (`user`, `sessions`, `role`, `account`, `app` and its new `generation`):
//! tokens carrying a lower one in their `rev` claim are revoked. At connect the feed replays
//! everything still able to affect a live token (24 hours), or only what follows the
//! `Last-Event-ID` a reconnecting client sends, so a dropped connection loses nothing.
//!
//! For applications with the introspect right, authenticated like at `/introspect`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};

use super::error::json_error;
use super::extract::{Budget, client};
use crate::http::AppState;
use crate::oauth::client_auth::Accept;
use crate::store::hot::HotState;

/// How often the feed is read for new entries: a revocation reaches the gateway within this.
const POLL: Duration = Duration::from_millis(250);
/// Entries sent per read.
const BATCH: usize = 500;

/// How far ahead of this node's clock a resumed id may lie (nodes' clocks differ a little).
const SKEW_MS: u64 = 60_000;

/// A feed id as the store hands them out, `{ms}-{seq}` with both parts fitting the store's
/// counters and the time not in the future: anything else could never resume a feed.
fn valid_id(id: &str, now_ms: i64) -> bool {
    let Some((ms, seq)) = id.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ms) || !digits(seq) {
        return false;
    }
    match (ms.parse::<u64>(), seq.parse::<u64>()) {
        (Ok(ms), Ok(_)) => {
            i64::try_from(ms).is_ok() && ms <= u64::try_from(now_ms).unwrap_or(0).saturating_add(SKEW_MS)
        }
        _ => false,
    }
}

/// How often an open stream checks that its application may still read the feed.
const RECHECK: Duration = Duration::from_secs(10);

pub async fn feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let caller = match client(
        &state.provider,
        &headers,
        None,
        None,
        Accept::ConfidentialOnly,
        Budget::Introspection,
    )
    .await
    {
        Ok(app) => app,
        Err(e) => return e.into_response(),
    };
    if !caller.may_introspect {
        return json_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "the revocation feed is for applications with the introspect right",
        );
    }
    let after = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => None,
        Some(Ok(id)) if valid_id(id.trim(), crate::clock::unix_millis(state.clock.now())) => Some(id.trim().to_owned()),
        Some(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Last-Event-ID is not a feed id",
            );
        }
    };
    let hot = state.stores.state.clone();
    let mut closing = state.closing.subscribe();
    let oauth = state.oauth.clone();
    let client_id = caller.client_id.clone();
    // The stream ends when the node shuts down, or when its application may no longer read the
    // feed (disabled, deleted, or the introspect right taken away).
    let until_closing = async move {
        let revoked = async {
            loop {
                tokio::time::sleep(RECHECK).await;
                if let Ok(found) = oauth.clients.application(&client_id).await
                    && !found.is_some_and(|app| app.may_introspect)
                {
                    return;
                }
            }
        };
        tokio::select! {
            _ = closing.wait_for(|closing| *closing) => {}
            () = revoked => {}
        }
    };
    let events = futures_util::StreamExt::take_until(entries(hot, after), until_closing);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The feed after `after`, for as long as the client listens.
fn entries(hot: std::sync::Arc<HotState>, after: Option<String>) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = (hot, after, std::collections::VecDeque::new(), false);
    stream::unfold(start, |(hot, mut after, mut pending, mut waited)| async move {
        loop {
            if let Some((id, entry)) = pending.pop_front() {
                let data = serde_json::to_string(&entry).unwrap_or_default();
                let event = Event::default().id(&id).event("revocation").data(data);
                after = Some(id);
                return Some((Ok(event), (hot, after, pending, false)));
            }
            if waited {
                tokio::time::sleep(POLL).await;
            }
            match hot.feed(after.as_deref(), BATCH).await {
                Ok(batch) => pending.extend(batch),
                Err(e) => tracing::warn!(error = %e, "the revocation feed could not be read; retrying"),
            }
            waited = true;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_feed_ids_resume_a_feed() {
        let now = 1_764_590_000_000;
        assert!(valid_id("1764590000000-0", now));
        assert!(valid_id("1-12", now));
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "a-1",
            "1-1-1",
            "1764590000000",
            "+1-0",
            "1 -0",
            "99999999999999999999-0",
            "18446744073709551615-18446744073709551615",
            "1764590100000-0",
        ] {
            assert!(!valid_id(bad, now), "{bad}");
        }
    }
}
