//! Refresh tokens (DESIGN.md, Tokens; RFC 9700 §4.14.2): opaque 256-bit values stored only as
//! SHA-256 with their family. Each use rotates: the successor is HMAC(refresh key, presented), so
//! a replay by the same client within the 10-second grace window gets the same successor
//! without anything stored for it; any later reuse revokes the whole family. Lifetimes: 14 days
//! idle, 30 days from the family's start. A family dies with its session's logout, with a change
//! that ends everything of its user (block, password reset, sign-out everywhere), with its B2B
//! account's suspension and with its application's disabling (generations: see
//! [`super::revocation`]); every refresh rebuilds the subject from the current rows, so a role
//! or permission change reaches the next access token.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::error::OAuthError;
use super::ports::{Denial, Denylist, ProtocolState, Use};
use super::provider::Provider;
use super::revocation;
use super::revocation::Marks;
use super::subject::{Authenticated, Subject};
use crate::crypto::mac;
use crate::crypto::random_token;
use crate::model::StoreError;
use crate::model::application::{Application, ClientId};
use crate::model::audit::AuditRecord;
use crate::model::scope::Scope;
use crate::model::user::UserId;

pub const IDLE: Duration = Duration::days(14);
pub const ABSOLUTE: Duration = Duration::days(30);
pub const GRACE: Duration = Duration::seconds(10);

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRecord {
    pub family: String,
    pub client_id: ClientId,
    /// The scope granted; every successor keeps it.
    pub scope: Scope,
    pub subject: Subject,
    /// When the family began (unix seconds).
    pub family_created: i64,
    /// When this token was issued (unix seconds).
    pub issued_at: i64,
    /// The RFC 8707 resource the family's access tokens are for (`None`: Propusk's audience).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl RefreshRecord {
    pub fn expires_at(&self) -> OffsetDateTime {
        let at = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        (at(self.issued_at) + IDLE).min(at(self.family_created) + ABSOLUTE)
    }

    pub fn family_expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.family_created).unwrap_or(OffsetDateTime::UNIX_EPOCH) + ABSOLUTE
    }
}

/// Starts a new family for `subject`; returns the first token and its record.
pub async fn start_family(
    provider: &Provider,
    client_id: &ClientId,
    scope: &Scope,
    resource: Option<&str>,
    subject: Subject,
) -> Result<(String, RefreshRecord), OAuthError> {
    let now = provider.clock.now().unix_timestamp();
    let record = RefreshRecord {
        family: random_token::<16>(),
        client_id: client_id.clone(),
        scope: scope.clone(),
        subject,
        family_created: now,
        issued_at: now,
        resource: resource.map(str::to_owned),
    };
    let token = random_token::<32>();
    provider.state.put_refresh(&token, &record).await?;
    if let Some(sid) = &record.subject.sid {
        provider
            .state
            .add_session_family(sid, &record.family, record.family_expires_at())
            .await?;
    }
    Ok((token, record))
}

/// The successor of `token`: derived, so a replay within the grace window finds it again.
fn successor(provider: &Provider, token: &str) -> String {
    mac(&provider.refresh_key, token.as_bytes())
}

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked")
}

/// Uses a refresh token presented by `app`: returns the successor's record — its subject
/// rebuilt from the rows as they are now (DESIGN.md, Token authority), the grace-window replay
/// included — the successor token, and the application as it is now (a copy at least as new
/// as the generation just read: its first-party standing decides what the token shows).
pub async fn rotate(
    provider: &Provider,
    token: &str,
    app: &Application,
) -> Result<(RefreshRecord, String, Arc<Application>), OAuthError> {
    if token.len() > 256 {
        return Err(invalid());
    }
    let client_id = app.client_id.as_str();
    let state = provider.state.as_ref();
    let now = provider.clock.now();
    let (record, first) = match state.take_refresh(token).await? {
        Use::Missing => return Err(invalid()),
        Use::First(record) => (record, true),
        Use::Again(record) => (record, false),
    };
    if record.client_id != app.client_id {
        // Someone else holds this client's token: assume theft.
        revoke_family(state, &record).await?;
        tracing::warn!(refresh.family = %record.family, "refresh token presented by another client; family revoked");
        let audit =
            AuditRecord::refresh_family_revoked(now, &record.subject.sub, client_id, "presented by another client");
        provider.audit.record_or_log(audit).await;
        return Err(invalid());
    }
    let (revoked, current) =
        revocation::family_state(state, &record.family, record.family_created, &record.subject, client_id).await?;
    if revoked {
        return Err(invalid());
    }
    let app = provider
        .clients
        .application_at(&app.client_id, current.app)
        .await?
        .ok_or_else(invalid)?;
    let next = successor(provider, token);
    // A replay is harmless inside the grace window (a retried request); and when no successor
    // exists, none was ever handed out (the store failed after the first take), so the retry
    // gets it now. Theft otherwise.
    let store_successor = if first {
        true
    } else {
        match state.get_refresh(&next).await? {
            None => true,
            Some(successor_record) => {
                if now.unix_timestamp() - successor_record.issued_at > GRACE.whole_seconds() {
                    revoke_family(state, &record).await?;
                    tracing::warn!(refresh.family = %record.family, "refresh token reused after rotation; family revoked");
                    let audit = AuditRecord::refresh_family_revoked(
                        now,
                        &record.subject.sub,
                        client_id,
                        "reused after rotation",
                    );
                    provider.audit.record_or_log(audit).await;
                    return Err(invalid());
                }
                false
            }
        }
    };
    let subject = current_subject(provider, &record, current).await?;
    let successor_record = RefreshRecord {
        issued_at: now.unix_timestamp(),
        subject,
        ..record
    };
    if store_successor {
        // `put_new`: two uses racing in the grace window both get here; the later must not
        // overwrite (and so re-arm) a successor that was already stored, or even used.
        state.put_new_refresh(&next, &successor_record).await?;
    }
    Ok((successor_record, next, app))
}

/// The family's subject rebuilt from the user's, role's and account's rows as they are now,
/// under the generations `current` read with the family's state.
async fn current_subject(provider: &Provider, record: &RefreshRecord, current: Marks) -> Result<Subject, OAuthError> {
    let id = UserId::parse(&record.subject.sub).map_err(|_| invalid())?;
    let user = provider.clients.user(id, current.user).await?.ok_or_else(invalid)?;
    let known = (
        record.subject.role.as_deref().unwrap_or(""),
        current.role,
        current.account,
    );
    let how = Authenticated {
        sid: record.subject.sid.clone(),
        auth_time: record.subject.auth_time.unwrap_or(record.family_created),
        amr: record.subject.amr.clone(),
    };
    let mut subject = Subject::rebuild(provider, &user.value, current, Some(known), how).await?;
    subject.userinfo_claims.clone_from(&record.subject.userinfo_claims);
    Ok(subject)
}

/// Revokes the family `record` belongs to.
pub async fn revoke_family(deny: &dyn Denylist, record: &RefreshRecord) -> Result<(), StoreError> {
    deny.deny(Denial::Family(&record.family), record.family_expires_at())
        .await
}

/// Revokes a family by id, until `until`.
pub async fn revoke_family_id(deny: &dyn Denylist, family: &str, until: OffsetDateTime) -> Result<(), StoreError> {
    deny.deny(Denial::Family(family), until).await
}

/// Revokes every family started in the session `sid`.
pub async fn revoke_session_families(
    state: &dyn ProtocolState,
    sid: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    for family in state.session_families(sid).await? {
        revoke_family_id(state, &family, now + ABSOLUTE).await?;
    }
    Ok(())
}

/// The record of a live refresh token, without using it (introspection, revocation). A token
/// already rotated is not live: its derived successor exists.
pub async fn peek(provider: &Provider, token: &str) -> Result<Option<RefreshRecord>, StoreError> {
    if token.len() > 256 {
        return Ok(None);
    }
    let state = provider.state.as_ref();
    let Some(record) = state.unrotated_refresh(token, &successor(provider, token)).await? else {
        return Ok(None);
    };
    let (revoked, _) = revocation::family_state(
        state,
        &record.family,
        record.family_created,
        &record.subject,
        record.client_id.as_str(),
    )
    .await?;
    Ok((!revoked).then_some(record))
}
