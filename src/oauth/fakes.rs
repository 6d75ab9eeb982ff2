//! In-memory fakes of the protocol's ports, for unit tests of its rules without a database or a
//! hot-state store (the real stores pass the contract suite in `tests/store/`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::authorize::{AuthorizationRequest, Parked};
use super::code::CodeGrant;
use super::ports::{
    AuditSink, ClientDirectory, CodeOutcome, CodeStore, Denial, Denylist, Entry, Ports, RefreshStore, RequestStore, Use,
};
use super::provider::Provider;
use super::refresh::RefreshRecord;
use super::revocation::Generation;
use crate::clock::ManualClock;
use crate::model::StoreError;
use crate::model::account::{Account, AccountId};
use crate::model::application::{Application, ClientId, ClientSecret, GrantType, SigningAlg};
use crate::model::audit::AuditRecord;
use crate::model::permission::Permission;
use crate::model::role::{Role, RoleName, RoleScope};
use crate::model::scope::Scope;
use crate::model::user::{User, UserId, UserStatus, Username};

/// A single-use value and whether it was taken.
type Once<T> = Mutex<HashMap<String, (T, bool)>>;

fn take<T: Clone>(map: &Once<T>, key: &str) -> Use<T> {
    let mut map = map.lock().unwrap();
    match map.get_mut(key) {
        None => Use::Missing,
        Some((value, used)) if *used => Use::Again(value.clone()),
        Some((value, used)) => {
            *used = true;
            Use::First(value.clone())
        }
    }
}

/// Every port at once, in memory (expiry is not modelled).
#[derive(Default)]
pub struct Memory {
    codes: Once<CodeGrant>,
    outcomes: Mutex<HashMap<String, CodeOutcome>>,
    refresh: Once<RefreshRecord>,
    families: Mutex<HashMap<String, Vec<String>>>,
    denied: Mutex<HashSet<String>>,
    generations: Mutex<HashMap<String, i64>>,
    requests: Mutex<HashMap<String, String>>,
    pub applications: Mutex<HashMap<ClientId, Application>>,
    pub roles: Mutex<HashMap<RoleName, Role>>,
    pub users: Mutex<HashMap<UserId, User>>,
    pub audit: Mutex<Vec<AuditRecord>>,
}

impl Memory {
    pub fn is_denied(&self, what: Denial<'_>) -> bool {
        self.denied.lock().unwrap().contains(&format!("{what:?}"))
    }
}

#[async_trait]
impl CodeStore for Memory {
    async fn put_code(&self, code: &str, grant: &CodeGrant, _: OffsetDateTime) -> Result<(), StoreError> {
        self.codes
            .lock()
            .unwrap()
            .insert(code.to_owned(), (grant.clone(), false));
        Ok(())
    }

    async fn take_code(&self, code: &str) -> Result<Use<CodeGrant, ()>, StoreError> {
        Ok(match take(&self.codes, code) {
            Use::Missing => Use::Missing,
            Use::First(grant) => Use::First(grant),
            Use::Again(_) => Use::Again(()),
        })
    }

    async fn settle_code(&self, code: &str, outcome: &CodeOutcome, _: OffsetDateTime) -> Result<bool, StoreError> {
        let mut outcomes = self.outcomes.lock().unwrap();
        if outcomes.contains_key(code) {
            return Ok(false);
        }
        outcomes.insert(code.to_owned(), outcome.clone());
        Ok(true)
    }

    async fn code_outcome(&self, code: &str) -> Result<Option<CodeOutcome>, StoreError> {
        Ok(self.outcomes.lock().unwrap().get(code).cloned())
    }
}

#[async_trait]
impl RefreshStore for Memory {
    async fn put_refresh(&self, token: &str, record: &RefreshRecord) -> Result<(), StoreError> {
        self.refresh
            .lock()
            .unwrap()
            .insert(token.to_owned(), (record.clone(), false));
        Ok(())
    }

    async fn put_new_refresh(&self, token: &str, record: &RefreshRecord) -> Result<bool, StoreError> {
        let mut map = self.refresh.lock().unwrap();
        if map.contains_key(token) {
            return Ok(false);
        }
        map.insert(token.to_owned(), (record.clone(), false));
        Ok(true)
    }

    async fn take_refresh(&self, token: &str) -> Result<Use<RefreshRecord>, StoreError> {
        Ok(take(&self.refresh, token))
    }

    async fn get_refresh(&self, token: &str) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.refresh.lock().unwrap().get(token).map(|(r, _)| r.clone()))
    }

    async fn unrotated_refresh(&self, token: &str, successor: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let map = self.refresh.lock().unwrap();
        Ok(match (map.get(token), map.get(successor)) {
            (Some((record, _)), None) => Some(record.clone()),
            _ => None,
        })
    }

    async fn add_session_family(&self, sid: &str, family: &str, _: OffsetDateTime) -> Result<(), StoreError> {
        self.families
            .lock()
            .unwrap()
            .entry(sid.to_owned())
            .or_default()
            .push(family.to_owned());
        Ok(())
    }

    async fn session_families(&self, sid: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.families.lock().unwrap().get(sid).cloned().unwrap_or_default())
    }
}

#[async_trait]
impl Denylist for Memory {
    async fn read(&self, entries: &[Entry<'_>]) -> Result<Vec<Option<i64>>, StoreError> {
        let denied = self.denied.lock().unwrap();
        let generations = self.generations.lock().unwrap();
        Ok(entries
            .iter()
            .map(|entry| match entry {
                Entry::Denied(what) => denied.contains(&format!("{what:?}")).then_some(1),
                Entry::Generation(which) => generations.get(&format!("{which:?}")).copied(),
                Entry::LegacyNotBefore(_) => None,
            })
            .collect())
    }

    async fn deny(&self, what: Denial<'_>, _: OffsetDateTime) -> Result<(), StoreError> {
        self.denied.lock().unwrap().insert(format!("{what:?}"));
        Ok(())
    }

    async fn advance(&self, which: Generation<'_>, floor: i64, _: OffsetDateTime) -> Result<i64, StoreError> {
        let mut generations = self.generations.lock().unwrap();
        let value = generations.entry(format!("{which:?}")).or_default();
        *value = (*value + 1).max(floor);
        Ok(*value)
    }
}

#[async_trait]
impl RequestStore for Memory {
    async fn park_request(&self, id: &str, parked: &Parked, _: OffsetDateTime) -> Result<(), StoreError> {
        let text = serde_json::to_string(parked).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.requests.lock().unwrap().insert(id.to_owned(), text);
        Ok(())
    }

    async fn parked_request(&self, id: &str) -> Result<Option<Parked>, StoreError> {
        Ok(self
            .requests
            .lock()
            .unwrap()
            .get(id)
            .and_then(|t| serde_json::from_str(t).ok()))
    }

    async fn unpark_request(&self, id: &str) -> Result<(), StoreError> {
        self.requests.lock().unwrap().remove(id);
        Ok(())
    }

    async fn push_request(
        &self,
        id: &str,
        request: &AuthorizationRequest,
        _: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.requests.lock().unwrap().insert(format!("par:{id}"), text);
        Ok(())
    }

    async fn take_pushed(&self, id: &str) -> Result<Option<AuthorizationRequest>, StoreError> {
        let taken = self.requests.lock().unwrap().remove(&format!("par:{id}"));
        Ok(taken.and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn note_session_client(&self, sid: &str, client_id: &str, _: OffsetDateTime) -> Result<(), StoreError> {
        let key = format!("session-clients:{sid}:{client_id}");
        self.requests.lock().unwrap().insert(key, String::new());
        Ok(())
    }

    async fn first_assertion(&self, client_id: &str, jti: &str, _: OffsetDateTime) -> Result<bool, StoreError> {
        let key = format!("assertion:{client_id}:{jti}");
        Ok(self.requests.lock().unwrap().insert(key, String::new()).is_none())
    }
}

#[async_trait]
impl ClientDirectory for Memory {
    async fn find_application(&self, client_id: &ClientId) -> Result<Option<Application>, StoreError> {
        Ok(self.applications.lock().unwrap().get(client_id).cloned())
    }

    async fn find_role(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
        Ok(self.roles.lock().unwrap().get(name).cloned())
    }

    async fn find_account(&self, _: AccountId) -> Result<Option<Account>, StoreError> {
        Ok(None)
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.users.lock().unwrap().get(&id).cloned())
    }
}

#[async_trait]
impl AuditSink for Memory {
    async fn record_or_log(&self, record: AuditRecord) {
        self.audit.lock().unwrap().push(record);
    }
}

/// A provider over `memory`, with a manual clock, fresh keys and the embedded configuration.
pub struct Harness {
    pub provider: Provider,
    pub memory: Arc<Memory>,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env = std::collections::BTreeMap::new();
        env.insert("PROPUSK_KEYS_DIR".into(), dir.path().join("keys").display().to_string());
        env.insert("PROPUSK_MASTER_KEY".into(), "A".repeat(43));
        let config = crate::config::Config::from_sources(&env, None).unwrap();
        let keyring = crate::keys::Keyring::load_or_create(&config.keys_dir).unwrap();
        let master = crate::keys::MasterKey::load_or_create(&config).unwrap();
        let memory = Arc::new(Memory::default());
        let clock = Arc::new(ManualClock::starting_now());
        let ports = Ports {
            state: memory.clone(),
            directory: memory.clone(),
            audit: memory.clone(),
        };
        let provider = Provider::new(&config, Arc::new(keyring), &master, clock.clone(), ports);
        Self {
            provider,
            memory,
            clock,
            _dir: dir,
        }
    }

    /// A confidential, first-party application with the code and refresh grants; its secret.
    pub fn application(&self, id: &str) -> (Application, ClientSecret) {
        let secret = ClientSecret::generate();
        let now = self.clock_now();
        let app = Application {
            client_id: ClientId::parse(id).unwrap(),
            name: id.into(),
            secret_hash: Some(secret.hash()),
            redirect_uris: vec![crate::model::redirect_uri::RedirectUri::parse("https://app.example/cb").unwrap()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: Scope::parse("openid profile").unwrap(),
            first_party: true,
            may_introspect: false,
            service_role: None,
            account_id: None,
            id_token_alg: SigningAlg::Rs256,
            access_token_ttl: None,
            refresh_token_ttl: None,
            enabled: true,
            resources: vec![],
            token_permissions: true,
            settings: Default::default(),
            generation: 0,
            created_at: now,
            updated_at: now,
        };
        self.memory
            .applications
            .lock()
            .unwrap()
            .insert(app.client_id.clone(), app.clone());
        (app, secret)
    }

    /// An active staff user with the `operator` role (`parcels:read`).
    pub fn user(&self) -> User {
        let now = self.clock_now();
        let role = Role {
            name: RoleName::parse("operator").unwrap(),
            description: String::new(),
            scope: RoleScope::Staff,
            permissions: vec![Permission::parse("parcels:read").unwrap()],
            builtin: true,
            created_at: now,
            updated_at: now,
        };
        self.memory.roles.lock().unwrap().insert(role.name.clone(), role);
        let user = User {
            id: UserId::generate(),
            username: Username::parse("alice").unwrap(),
            password_hash: None,
            email: None,
            phone: None,
            role: RoleName::parse("operator").unwrap(),
            permissions: vec![],
            status: UserStatus::Active,
            client_id: None,
            name: None,
            email_verified: false,
            phone_verified: false,
            not_before: None,
            created_at: now,
            updated_at: now,
            profile: Default::default(),
        };
        self.memory.users.lock().unwrap().insert(user.id, user.clone());
        user
    }

    pub fn clock_now(&self) -> OffsetDateTime {
        crate::clock::Clock::now(self.clock.as_ref())
    }
}
