//! The store contract suites: every behaviour in `contract.rs`, run against each
//! implementation — PostgreSQL and SQLite for the relational store, Redis and the in-process
//! store for hot state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/support.rs"]
mod support;

mod contract;
mod hot_contract;
mod redis_only;
mod state_contract;

use std::sync::Arc;

use propusk::clock::ManualClock;
use propusk::store::Database;
use propusk::store::hot::HotStore;

/// A relational store and whatever must outlive the test (a temporary directory).
pub struct DbFixture {
    pub db: Arc<dyn Database>,
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
}

pub async fn postgres() -> DbFixture {
    let url = support::fresh_database().await;
    let db = propusk::store::postgres::PgStore::connect(&url, 4).await.unwrap();
    DbFixture {
        db: Arc::new(db),
        clock: ManualClock::starting_now(),
        _dir: None,
    }
}

pub async fn sqlite() -> DbFixture {
    let dir = tempfile::tempdir().unwrap();
    let db = propusk::store::sqlite::SqliteStore::open(&dir.path().join("t.db"))
        .await
        .unwrap();
    DbFixture {
        db: Arc::new(db),
        clock: ManualClock::starting_now(),
        _dir: Some(dir),
    }
}

/// A hot-state store on a clock the test moves.
pub struct HotFixture {
    pub hot: Arc<dyn HotStore>,
    pub clock: ManualClock,
}

pub async fn redis() -> HotFixture {
    let clock = ManualClock::starting_now();
    let store = propusk::store::redis::RedisStore::connect(
        &support::redis_url(),
        &support::unique_prefix(),
        2,
        Arc::new(clock.clone()),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Redis must be running at {} (start it with scripts/test): {e}",
            support::redis_url()
        )
    });
    HotFixture {
        hot: Arc::new(store),
        clock,
    }
}

pub async fn memory() -> HotFixture {
    let clock = ManualClock::starting_now();
    HotFixture {
        hot: Arc::new(propusk::store::memory::MemoryStore::new(Arc::new(clock.clone()))),
        clock,
    }
}

/// Runs each named contract function against one implementation.
macro_rules! suite {
    ($module:ident, $contract:ident, $make:path, [$($test:ident),* $(,)?]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    crate::$contract::$test($make().await).await;
                }
            )*
        }
    };
}

macro_rules! relational_suite {
    ($module:ident, $make:path) => {
        suite!(
            $module,
            contract,
            $make,
            [
                builtin_roles_exist_with_their_scopes,
                accounts_round_trip,
                account_slugs_are_unique,
                users_round_trip,
                a_user_write_from_a_stale_read_changes_nothing,
                account_and_application_writes_from_a_stale_read_change_nothing,
                users_are_found_by_username_or_email_ignoring_case,
                deleted_users_cannot_be_found_by_login,
                usernames_and_emails_are_unique,
                references_must_exist,
                applications_round_trip,
                application_ids_are_unique,
                the_database_answers_pings,
                audit_rows_are_appended_one_at_a_time_in_a_chain,
                a_user_and_its_event_are_written_in_one_transaction,
                outbox_rows_leave_the_queue_in_order_once_marked_sent,
                sent_events_go_after_their_retention_and_the_oldest_wait_is_known,
                factors_confirm_once_accept_each_totp_step_once_and_recovery_codes_once,
                a_required_factor_goes_only_while_another_confirmed_one_stays,
                recovery_codes_replaced_at_once_leave_one_set,
                factors_clear_only_while_none_is_confirmed,
                a_confirmation_racing_a_clearing_is_never_lost,
                federated_users_and_their_links_are_written_all_or_nothing,
                listings_page_in_order_and_filter,
                roles_change_and_go_only_while_nobody_holds_them,
                consent_is_kept_per_user_and_application_and_goes_with_the_application,
                the_audit_head_follows_the_chain_and_search_filters,
                events_without_a_change_queue_and_count_in_the_backlog,
                identity_providers_are_found_listed_and_changed,
            ]
        );
    };
}

macro_rules! hot_suite {
    ($module:ident, $make:path) => {
        suite!(
            $module,
            hot_contract,
            $make,
            [
                values_expire_by_the_clock,
                get_many_reads_several_keys_at_once,
                throttle_allows_a_burst_then_refills_smoothly,
                throttle_counts_all_buckets_or_none,
                throttle_is_atomic_under_concurrency,
                throttle_keeps_rates_above_a_thousand_a_second,
                put_replaces_the_value_and_its_used_mark,
                put_new_stores_only_when_absent_or_expired,
                take_is_single_use_until_expiry,
                take_is_atomic_under_concurrency,
                delete_reports_whether_something_live_was_there,
                counters_count_within_their_window_and_restart_after_it,
                counters_are_atomic_under_concurrency,
                generations_only_move_forward,
                generations_advance_atomically,
                set_members_expire_one_by_one,
                set_remove_and_contains,
                a_key_holds_one_kind_of_entry,
                logs_keep_order_resume_after_an_id_and_drop_old_entries,
                logged_writes_append_their_line_in_the_same_step,
                the_store_answers_pings,
            ]
        );
    };
}

macro_rules! state_suite {
    ($module:ident, $make:path) => {
        suite!(
            $module,
            state_contract,
            $make,
            [
                codes_are_taken_once_and_settle_once,
                refresh_tokens_rotate_under_their_own_keys,
                denials_and_generations_read_back_in_one_call,
                parked_requests_and_sessions_round_trip_and_bad_data_reads_as_absent,
            ]
        );
    };
}

relational_suite!(postgres_store, crate::postgres);
relational_suite!(sqlite_store, crate::sqlite);
hot_suite!(redis_store, crate::redis);
hot_suite!(memory_store, crate::memory);
state_suite!(redis_state, crate::redis);
state_suite!(memory_state, crate::memory);

/// The PostgreSQL relay lease: one holder per database; a second node gets it once the first
/// lets go, or once the holder's connection is gone (and the holder then knows it lost it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_relay_lease_has_one_holder_and_passes_on_when_it_goes() {
    use sqlx::Connection as _;
    let url = support::fresh_database().await;
    let a = propusk::store::postgres::PgStore::connect(&url, 2).await.unwrap();
    let b = propusk::store::postgres::PgStore::connect(&url, 2).await.unwrap();
    let mut first = a.relay_lease().await.unwrap().expect("the first node takes the lease");
    assert!(first.held().await);
    assert!(b.relay_lease().await.unwrap().is_none(), "held elsewhere");
    assert!(
        b.relay_lease().await.unwrap().is_none(),
        "still held; trying again costs nothing"
    );
    drop(first);
    let mut second = None;
    for _ in 0..50 {
        second = b.relay_lease().await.unwrap();
        if second.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut second = second.expect("the lease passes on when its holder lets go");
    assert!(second.held().await);

    // An administrator ends the holder's backend: the holder sees it lost the lease, and the
    // other node takes it.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(ended, [true]);
    assert!(!second.held().await, "the holder knows it lost the lease");
    let mut third = None;
    for _ in 0..50 {
        third = a.relay_lease().await.unwrap();
        if third.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(third.expect("another node takes the lease over").held().await);
}
