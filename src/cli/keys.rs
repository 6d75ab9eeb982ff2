//! `propusk keys rotate`.

use clap::Subcommand;

use super::Failure;
use crate::config::Config;
use crate::keys::Keyring;

#[derive(Debug, Subcommand)]
pub(super) enum KeysCommand {
    /// Add a new active signing key per algorithm; the replaced keys stay published in JWKS
    /// until the next rotation. Restart the nodes to start signing with the new keys.
    Rotate {
        /// Print the new key ids as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(command: KeysCommand, config: &Config) -> Result<(), Failure> {
    match command {
        KeysCommand::Rotate { json } => {
            let kids = Keyring::rotate(&config.keys_dir)?;
            if json {
                println!("{}", serde_json::json!({ "kids": kids }));
            } else {
                println!("new signing keys: {}", kids.join(", "));
            }
            Ok(())
        }
    }
}
