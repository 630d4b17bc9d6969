//! `urne serve`: the board service.

use std::io::Write as _;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::CliError;
use crate::api::auth::OrganiserToken;
use crate::api::limits::Limits;
use crate::server::{self, ServerConfig};
use crate::store::sealed::{SecretsAtRest, SecretsKey, SECRETS_KEY_ENV};

/// Arguments of `urne serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Data directory (created if missing): the board's store and signing key.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Organiser bearer token, at least 16 printable characters. Prefer the
    /// environment variable: command lines are visible to other local users.
    #[arg(
        long,
        env = "URNE_ORGANISER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub organiser_token: Option<String>,
    /// File holding the key that seals the secrets kept in the store
    /// (registrar keys, signer states): 64 hex digits, mode 0600, created if
    /// missing. Keep it outside the data directory and back it up.
    #[arg(long, value_name = "FILE")]
    pub secrets_key: Option<PathBuf>,
    /// The secrets key itself, 64 hex digits (instead of `--secrets-key`).
    #[arg(
        long = "secrets-key-hex",
        env = SECRETS_KEY_ENV,
        hide_env_values = true,
        hide = true,
        conflicts_with = "secrets_key"
    )]
    pub secrets_key_hex: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest roster import body in bytes.
    #[arg(long, default_value_t = Limits::default().max_roster_bytes)]
    pub max_roster_bytes: usize,
    /// Board reads per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 5000)]
    pub read_rate: u32,
    /// Board appends per second, all clients together (0: unlimited).
    #[arg(long, default_value_t = 2000)]
    pub write_rate: u32,
    /// Requests handled at once; further ones wait.
    #[arg(long, default_value_t = Limits::default().max_concurrent_requests)]
    pub max_concurrent_requests: usize,
    /// Seconds allowed to a read request.
    #[arg(long, default_value_t = 10)]
    pub read_timeout_secs: u64,
    /// Seconds allowed to an append, queueing and fsync included.
    #[arg(long, default_value_t = 30)]
    pub write_timeout_secs: u64,
    /// TEST SUPPORT ONLY: mount a route appending arbitrary bytes
    /// (organiser token required). Never enable in production.
    #[arg(long, hide = true)]
    pub test_support_append: bool,
}

impl ServeArgs {
    /// The server configuration these arguments describe.
    pub fn config(&self) -> Result<ServerConfig, CliError> {
        let organiser_token = self
            .organiser_token
            .as_deref()
            .map(OrganiserToken::new)
            .transpose()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let limits = Limits {
            max_body_bytes: self.max_body_bytes,
            max_roster_bytes: self.max_roster_bytes,
            read_rate: NonZeroU32::new(self.read_rate),
            write_rate: NonZeroU32::new(self.write_rate),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            read_timeout: Duration::from_secs(self.read_timeout_secs.max(1)),
            write_timeout: Duration::from_secs(self.write_timeout_secs.max(1)),
            ..Limits::default()
        };
        let key = match (&self.secrets_key_hex, &self.secrets_key) {
            (Some(hex), _) => SecretsKey::from_hex(hex, SECRETS_KEY_ENV),
            (None, Some(file)) => SecretsKey::load_or_create(file, &self.data),
            (None, None) => {
                return Err(CliError::Usage(format!(
                    "urne serve keeps the registrar keys encrypted at rest and needs a key for it: \
                     pass --secrets-key FILE (created if missing; keep it outside the data \
                     directory and back it up) or set {SECRETS_KEY_ENV} to 64 hex digits"
                )))
            }
        }
        .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(ServerConfig {
            data_dir: self.data.clone(),
            listen: self.listen,
            organiser_token,
            limits,
            clock: crate::clock::BoardClock::system(),
            test_support: self.test_support_append,
            secrets: SecretsAtRest::Sealed(key),
        })
    }
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let config = args.config()?;
    if config.test_support {
        tracing::warn!("test-support append route enabled: never do this in production");
    }
    let running = server::start(config).await?;
    // Scripts (and the crash tests) read the bound address from this line.
    println!("urne: listening on http://{}", running.local_addr());
    let _ = std::io::stdout().flush();
    running.run_until(server::termination_signal()).await?;
    Ok(())
}
