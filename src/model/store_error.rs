//! What went wrong in a store: the vocabulary every layer speaks about storage, so the ports the
//! protocol core defines and the stores that implement them agree without knowing each other.

/// What went wrong in a store, free of driver types.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule refused the write; `constraint` names it
    /// (`users_username_key`, `users_email_key`, `clients_slug_key`, `foreign_key` …).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// Stored data that does not parse (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
