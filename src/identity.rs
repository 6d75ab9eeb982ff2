//! Who is who, as services: the admin services over users, B2B accounts, roles, applications
//! and identity providers, a user's own account, and the password rules. The records they work
//! on live in [`crate::model`].

pub mod account_self;
pub mod admin;
