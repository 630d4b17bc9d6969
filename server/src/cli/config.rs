//! The configuration file (TOML): defaults for the command-line options.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Failure;

/// Defaults read from `--config FILE`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Server URL.
    pub server: Option<String>,
    /// Election id, hex.
    pub election: Option<String>,
    /// Organiser bearer token.
    pub organiser_token: Option<String>,
    /// Voter wallet file.
    pub wallet: Option<PathBuf>,
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::new(
                format!("cannot read the config file {}: {e}", path.display()),
                "check --config FILE",
            )
        })?;
        toml::from_str(&text).map_err(|e| {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            Failure::new(
                format!("config file {} is not valid: {first}", path.display()),
                "keys: server, election, organiser_token, wallet",
            )
        })
    }
}
