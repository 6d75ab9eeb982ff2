//! `GET /revocations`: the revocation feed for gateways that verify tokens offline (JWKS), as
//! Server-Sent Events. Every case of DESIGN.md's Revocation list arrives within a second: a
//! denied `jti`, `session` (sid) or refresh `family` with the time it ends (`until`), or a
//! generation moved (`user`, `sessions`, `role`, `account`, `app` and its new `generation`):
//! tokens carrying a lower one in their `rev` claim are revoked. At connect the feed replays
//! everything still able to affect a live token (24 hours), or only what follows the
//! `Last-Event-ID` a reconnecting client sends, so a dropped connection loses nothing.
//!
//! For applications with the introspect right, authenticated like at `/introspect`.
//!
//! One task per node follows the feed's tail in the store (every 250 ms); an open stream reads
//! the store only when the tail has moved past what it sent, so idle streams cost nothing.
//! A node holds at most `MAX_STREAMS` streams, `MAX_STREAMS_PER_APPLICATION` of one
//! application; past that a new one is refused with a 503.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::error::json_error;
use super::extract::{Budget, client};
use crate::http::AppState;
use crate::oauth::client_auth::{Accept, BodyCredentials};
use crate::store::hot::HotState;

/// How often the feed is read for new entries: a revocation reaches the gateway within this.
const POLL: Duration = Duration::from_millis(250);
/// Entries sent per read.
const BATCH: usize = 500;
/// Open streams a node serves at once (a gateway holds one per instance).
pub const MAX_STREAMS: usize = 1024;
/// Open streams one application may hold on a node, so that one cannot take them all.
pub const MAX_STREAMS_PER_APPLICATION: usize = 32;
/// An open stream re-reads the store at least this often, even if the tail seems still.
const IDLE_READ: Duration = Duration::from_secs(5);

/// The node's view of the feed: its tail, followed by one task, and the streams' budget.
pub struct Tail {
    tail: std::sync::OnceLock<watch::Receiver<Option<String>>>,
    streams: Arc<Semaphore>,
    /// Open streams per client_id.
    held: Mutex<HashMap<String, usize>>,
}

impl Default for Tail {
    fn default() -> Self {
        Self {
            tail: std::sync::OnceLock::new(),
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            held: Mutex::default(),
        }
    }
}

/// One open stream's place on the node; given back when the stream ends.
struct Slot {
    _permit: OwnedSemaphorePermit,
    tail: Arc<Tail>,
    client_id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.tail.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.client_id) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.client_id);
            }
        }
    }
}

impl Tail {
    /// A place for one more stream of `client_id`, if the node and the application have one.
    fn admit(self: &Arc<Self>, client_id: &str) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = held.entry(client_id.to_owned()).or_default();
        if *n >= MAX_STREAMS_PER_APPLICATION {
            return None;
        }
        let Ok(permit) = self.streams.clone().try_acquire_owned() else {
            if *n == 0 {
                held.remove(client_id);
            }
            return None;
        };
        *n += 1;
        Some(Slot {
            _permit: permit,
            tail: self.clone(),
            client_id: client_id.to_owned(),
        })
    }

    /// The tail's watch, starting the follower on first use.
    fn watch(&self, hot: &Arc<HotState>) -> watch::Receiver<Option<String>> {
        self.tail
            .get_or_init(|| {
                let (tx, rx) = watch::channel(None);
                tokio::spawn(follow(hot.clone(), tx));
                rx
            })
            .clone()
    }
}

/// Follows the feed's tail: publishes the newest id once it has caught up with new entries.
async fn follow(hot: Arc<HotState>, tail: watch::Sender<Option<String>>) {
    let mut last: Option<String> = None;
    let mut failing = false;
    loop {
        match hot.feed(last.as_deref(), BATCH).await {
            Ok(read) => {
                failing = false;
                if read.last.is_some() {
                    last = read.last;
                }
                if read.full {
                    // Still catching up (a node's first read goes through the whole feed):
                    // streams are woken once, at the end.
                    continue;
                }
                if *tail.borrow() != last {
                    tail.send_replace(last.clone());
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "the revocation feed could not be read; retrying");
                }
                failing = true;
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

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
        BodyCredentials::default(),
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
    let Some(permit) = state.feed.admit(caller.client_id.as_str()) else {
        tracing::warn!(client.id = %caller.client_id, "a revocation feed was refused: too many open streams");
        let mut response = json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many open revocation feeds on this node (for the node or this application); retry later",
        );
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
        return response;
    };
    let hot = state.stores.state.clone();
    let tail = state.feed.watch(&hot);
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
    let events = futures_util::StreamExt::take_until(entries(hot, tail, after, permit), until_closing);
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The feed after `after`, for as long as the client listens (holding one of the node's stream
/// permits). The tail is marked seen before each read, so an entry added after the read moves
/// the tail again and wakes the stream.
fn entries(
    hot: Arc<HotState>,
    tail: watch::Receiver<Option<String>>,
    after: Option<String>,
    permit: Slot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = (hot, tail, after, VecDeque::new(), false, permit);
    stream::unfold(
        start,
        |(hot, mut tail, mut after, mut pending, mut caught_up, permit)| async move {
            loop {
                if let Some((id, entry)) = pending.pop_front() {
                    let data = serde_json::to_string(&entry).unwrap_or_default();
                    let event = Event::default().id(&id).event("revocation").data(data);
                    after = Some(id);
                    return Some((Ok(event), (hot, tail, after, pending, caught_up, permit)));
                }
                if caught_up {
                    // Woken by a moved tail, or after a while regardless (also when the follower
                    // is gone: its closed channel must not make this loop spin).
                    if let Ok(Err(_)) = tokio::time::timeout(IDLE_READ, tail.changed()).await {
                        tokio::time::sleep(IDLE_READ).await;
                    }
                }
                tail.borrow_and_update();
                match hot.feed(after.as_deref(), BATCH).await {
                    Ok(read) => {
                        caught_up = !read.full;
                        if read.entries.is_empty() && read.last.is_some() {
                            after = read.last; // only unreadable entries: step over them
                        }
                        pending.extend(read.entries);
                    }
                    Err(e) => {
                        // The follower logs an outage once; streams wait it out quietly.
                        tracing::debug!(error = %e, "the revocation feed could not be read; retrying");
                        tokio::time::sleep(POLL).await;
                        caught_up = false;
                    }
                }
            }
        },
    )
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
