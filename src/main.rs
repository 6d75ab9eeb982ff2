//! The `propusk` binary: parse the command line and hand over to [`propusk::cli::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = propusk::cli::Cli::parse();
    propusk::cli::run(cli)
}
