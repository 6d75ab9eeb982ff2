//! Prometheus metrics in the text exposition format, kept in atomics (no registry crate needed
//! for a handful of counters).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The grants whose issued tokens are counted.
pub const GRANTS: [&str; 4] = ["authorization_code", "refresh_token", "client_credentials", "password"];

/// Counters of one node.
#[derive(Debug, Default)]
pub struct Metrics {
    responses: [AtomicU64; 5],
    tokens: [AtomicU64; 4],
    logins_ok: AtomicU64,
    logins_failed: AtomicU64,
    logins_locked: AtomicU64,
    dummy_checks: AtomicU64,
    lockouts: AtomicU64,
    /// Sign-ins through upstream identity providers: completed, refused, upstream at fault.
    federated: [AtomicU64; 3],
    /// The last seen state of the relational and hot stores: 0 unknown, 1 up, 2 down.
    components: [std::sync::atomic::AtomicU8; 2],
}

/// The stores whose state is watched, in [`Metrics::component`] order.
pub const COMPONENTS: [&str; 2] = ["database", "hot_state"];

/// How a sign-in through an upstream identity provider ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Federated {
    Success,
    /// Refused here: expired or replayed state, another issuer, no access, blocked…
    Refused,
    /// The upstream was unreachable or its answer could not be verified.
    UpstreamError,
}

impl Federated {
    const ALL: [(Self, &'static str); 3] = [
        (Self::Success, "success"),
        (Self::Refused, "refused"),
        (Self::UpstreamError, "upstream_error"),
    ];
}

impl Metrics {
    /// Counts a response by status class (1xx … 5xx).
    pub fn response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts tokens issued by `grant` (one of [`GRANTS`]).
    pub fn token_issued(&self, grant: &str) {
        if let Some(i) = GRANTS.iter().position(|g| *g == grant) {
            self.tokens[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a password login attempt.
    pub fn login(&self, ok: bool) {
        let counter = if ok { &self.logins_ok } else { &self.logins_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an attempt refused by a lockout without checking the password.
    pub fn login_locked(&self) {
        self.logins_locked.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a bcrypt check against the dummy hash (an unknown login name).
    pub fn dummy_check(&self) {
        self.dummy_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a sign-in through an upstream identity provider.
    pub fn federated(&self, outcome: Federated) {
        self.federated[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records the state of component `index` (of [`COMPONENTS`]); true when it changed (the
    /// caller logs the change once, at warn).
    pub fn component(&self, index: usize, up: bool) -> bool {
        let state = if up { 1 } else { 2 };
        let before = self.components[index].swap(state, Ordering::Relaxed);
        before != state && !(before == 0 && up)
    }

    /// Counts a lockout started.
    pub fn lockout(&self) {
        self.lockouts.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text, with `outbox_backlog` (unsent events) and the age of the oldest
    /// waiting one (seconds) when known.
    pub fn render(&self, outbox_backlog: Option<i64>, oldest_unsent_secs: Option<i64>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP propusk_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE propusk_http_responses_total counter");
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "propusk_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP propusk_tokens_issued_total Token responses by grant.");
        let _ = writeln!(out, "# TYPE propusk_tokens_issued_total counter");
        for (grant, counter) in GRANTS.iter().zip(&self.tokens) {
            let _ = writeln!(
                out,
                "propusk_tokens_issued_total{{grant=\"{grant}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP propusk_logins_total Password logins by outcome.");
        let _ = writeln!(out, "# TYPE propusk_logins_total counter");
        let _ = writeln!(
            out,
            "propusk_logins_total{{outcome=\"success\"}} {}",
            self.logins_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "propusk_logins_total{{outcome=\"failure\"}} {}",
            self.logins_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "propusk_logins_total{{outcome=\"locked\"}} {}",
            self.logins_locked.load(Ordering::Relaxed)
        );
        for (name, help, counter) in [
            (
                "propusk_password_dummy_checks_total",
                "bcrypt checks against the dummy hash (unknown login names).",
                &self.dummy_checks,
            ),
            ("propusk_lockouts_total", "Lockouts started.", &self.lockouts),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP propusk_federated_logins_total Sign-ins through upstream identity providers by outcome."
        );
        let _ = writeln!(out, "# TYPE propusk_federated_logins_total counter");
        for (outcome, label) in Federated::ALL {
            let _ = writeln!(
                out,
                "propusk_federated_logins_total{{outcome=\"{label}\"}} {}",
                self.federated[outcome as usize].load(Ordering::Relaxed)
            );
        }
        if let Some(backlog) = outbox_backlog {
            let _ = writeln!(
                out,
                "# HELP propusk_outbox_backlog Events waiting in the outbox for the broker."
            );
            let _ = writeln!(out, "# TYPE propusk_outbox_backlog gauge");
            let _ = writeln!(out, "propusk_outbox_backlog {backlog}");
            let _ = writeln!(
                out,
                "# HELP propusk_outbox_oldest_unsent_seconds Age of the oldest event waiting for the broker (0: none)."
            );
            let _ = writeln!(out, "# TYPE propusk_outbox_oldest_unsent_seconds gauge");
            let _ = writeln!(
                out,
                "propusk_outbox_oldest_unsent_seconds {}",
                oldest_unsent_secs.unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "# HELP propusk_component_up Whether a store answered at the last check (readiness or scrape): 1 up, 0 down."
        );
        let _ = writeln!(out, "# TYPE propusk_component_up gauge");
        for (i, name) in COMPONENTS.iter().enumerate() {
            let state = self.components[i].load(Ordering::Relaxed);
            if state != 0 {
                let _ = writeln!(
                    out,
                    "propusk_component_up{{component=\"{name}\"}} {}",
                    u8::from(state == 1)
                );
            }
        }
        out
    }
}
