//! OpenID Connect Back-Channel Logout 1.0: when a browser session ends, every application it
//! signed in to that registered a `backchannel_logout_uri` gets a logout token.
//!
//! Every way a session ends is a revocation, and every revocation is in the revocation feed
//! (written atomically with it): a `session` denial (logout, an ended session), a moved
//! `sessions` generation (block, password reset, sign-out everywhere, erasure, an identity
//! provider's password sessions ended) or a moved `account` generation (a suspended B2B account).
//! So one dispatcher per node follows the feed from a shared cursor, moved only past what was
//! dispatched; each (session, application) pair is told once across nodes (`put_new`), and
//! deliveries run in their own tasks (64 at a time per node) with bounded retries — never in the
//! user's request. A delivery that still fails is audited.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::Services;
use crate::audit::AuditRecord;
use crate::model::account::AccountId;
use crate::model::user::UserId;
use crate::oauth::session::Session;
use crate::store::UserFilter;
use crate::store::hot::{FeedEntry, FeedReader, Key};

/// How often the feed is read.
const POLL: Duration = Duration::from_millis(500);
/// Feed entries read at once.
const BATCH: usize = 200;
/// Waits before the second and third delivery attempts.
const RETRIES: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];
/// Users of a suspended account read at once.
const USERS_PAGE: i64 = 500;
/// Deliveries under way at once on a node; more wait their turn.
const MAX_DELIVERIES: usize = 64;

/// The node's delivery slots.
static DELIVERIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_DELIVERIES);

/// Follows the feed until `closing` becomes true.
pub async fn run(services: Arc<Services>, mut closing: tokio::sync::watch::Receiver<bool>) {
    let mut failing = false;
    loop {
        match step(&services).await {
            Ok(more) => {
                failing = false;
                if more {
                    continue;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "back-channel logout cannot read the revocation feed; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = closing.wait_for(|c| *c) => return,
        }
    }
}

/// Reads one batch after the shared cursor and dispatches it; true when more may follow.
async fn step(services: &Arc<Services>) -> Result<bool, crate::model::StoreError> {
    let state = &services.state;
    let now = services.clock.now();
    let Some(cursor) = state.feed_cursor(FeedReader::Backchannel).await? else {
        // First start: begin at the feed's end (revocations before back-channel logout existed
        // are not replayed).
        state.start_feed_cursor(FeedReader::Backchannel, now).await?;
        return Ok(true);
    };
    let read = state.feed(Some(&cursor), BATCH).await?;
    // Every node dispatches what it reads (each session/application pair is told once, by the
    // node that takes it first), and the shared cursor moves only past what was dispatched: a
    // node that fails or dies part-way leaves the entry for the next read.
    for (_, entry) in &read.entries {
        dispatch(services, entry).await?;
    }
    if let Some(last) = &read.last {
        state.set_feed_cursor(FeedReader::Backchannel, last, now).await?;
    }
    Ok(read.full)
}

/// The sessions a feed entry ends, and a logout token for each application they signed in to.
async fn dispatch(services: &Arc<Services>, entry: &FeedEntry) -> Result<(), crate::model::StoreError> {
    let state = &services.state;
    match (entry.kind.as_str(), entry.generation) {
        ("session", _) => {
            if let Some(session) = state.record::<Session>(Key::SessionBySid(&entry.id)).await? {
                tell(services, &session).await?;
            }
        }
        ("sessions", Some(generation)) => {
            let Ok(user) = UserId::parse(&entry.id) else {
                return Ok(());
            };
            for session in sessions_of(services, user).await? {
                if session.marks.sessions < generation {
                    tell(services, &session).await?;
                }
            }
        }
        ("account", Some(generation)) => {
            let Ok(account) = AccountId::parse(&entry.id) else {
                return Ok(());
            };
            let mut filter = UserFilter {
                account: Some(account),
                ..UserFilter::default()
            };
            loop {
                let page = services.db.list_users(&filter, USERS_PAGE).await?;
                for user in &page {
                    for session in sessions_of(services, user.id).await? {
                        if session.marks.account < generation {
                            tell(services, &session).await?;
                        }
                    }
                }
                match page.last() {
                    Some(last) if page.len() as i64 == USERS_PAGE => filter.after = Some(last.id),
                    _ => break,
                }
            }
        }
        _ => {}
    }
    Ok(())
}

async fn sessions_of(services: &Services, user: UserId) -> Result<Vec<Session>, crate::model::StoreError> {
    let mut sessions = Vec::new();
    for sid in services.state.user_sessions(user).await? {
        if let Some(session) = services.state.record::<Session>(Key::SessionBySid(&sid)).await? {
            sessions.push(session);
        }
    }
    Ok(sessions)
}

/// Sends a logout token for `session` to each application it signed in to (once per pair).
async fn tell(services: &Arc<Services>, session: &Session) -> Result<(), crate::model::StoreError> {
    let state = &services.state;
    let now = services.clock.now();
    for client in state.set_members(Key::SessionClients(&session.sid)).await? {
        let Ok(client_id) = crate::model::application::ClientId::parse(&client) else {
            continue;
        };
        let Some(app) = services.clients.application(&client_id).await? else {
            continue;
        };
        let Some(uri) = app.settings.backchannel_logout_uri.clone() else {
            continue;
        };
        let sent = Key::BackchannelSent {
            sid: &session.sid,
            client: &client,
        };
        if !state.put_new(sent, b"1", now + crate::oauth::session::ABSOLUTE).await? {
            continue;
        }
        let sub = session.user_id.to_string();
        let token = match crate::oauth::id_token::logout_token(services, &app, &sub, &session.sid) {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(error = %e, "a logout token could not be signed");
                continue;
            }
        };
        let services = services.clone();
        let sid = session.sid.clone();
        tokio::spawn(async move {
            let Ok(_slot) = DELIVERIES.acquire().await else { return };
            deliver(&services, &uri, &token, &sub, &client, &sid).await;
        });
    }
    Ok(())
}

/// POSTs the logout token (§2.5), trying three times on network errors and 5xx answers; a
/// delivery that still fails is audited.
async fn deliver(services: &Services, uri: &str, token: &str, sub: &str, client: &str, sid: &str) {
    let mut waits = RETRIES.iter();
    let reason = loop {
        let reason = match post(services, uri, token).await {
            Ok(()) => {
                tracing::info!(client.id = client, "logout token delivered");
                return;
            }
            Err((reason, retry)) if retry => reason,
            Err((reason, _)) => break reason,
        };
        match waits.next() {
            Some(wait) => tokio::time::sleep(*wait).await,
            None => break reason,
        }
    };
    tracing::warn!(client.id = client, reason = %reason, "a logout token could not be delivered");
    let at: OffsetDateTime = services.clock.now();
    let record = AuditRecord::backchannel_logout_failed(at, sub, client, sid, &reason);
    services.audit.record_or_log(record).await;
}

/// One attempt: Ok on 200/204; else the reason and whether to try again.
async fn post(services: &Services, uri: &str, token: &str) -> Result<(), (String, bool)> {
    if !services.upstreams.allows(uri) {
        return Err(("the backchannel_logout_uri must be https".into(), false));
    }
    let body = serde_urlencoded::to_string([("logout_token", token)]).unwrap_or_default();
    let request = openidconnect::http::Request::builder()
        .method(openidconnect::http::Method::POST)
        .uri(uri)
        .header(
            openidconnect::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.into_bytes())
        .map_err(|e| (e.to_string(), false))?;
    match services.upstreams.send(request).await {
        Ok(response) if matches!(response.status().as_u16(), 200 | 204) => Ok(()),
        Ok(response) => {
            let status = response.status().as_u16();
            Err((format!("HTTP {status}"), status >= 500 || status == 429))
        }
        Err(e) => Err((e.to_string(), true)),
    }
}
