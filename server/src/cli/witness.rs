//! `urne witness`: run a witness that cosigns boards' checkpoints (C2SP
//! `tlog-witness`, `specs/protocol.md` §6.11).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use urne_crypto::checkpoint::NoteVerifier;
use urne_crypto::witness::WitnessKey;

use super::{CliError, Failure};
use crate::client::secret_file;
use crate::witness::{Follows, Witness};

/// `urne witness` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum WitnessCommand {
    /// Create a witness key (mode 0600) and print its key line for manifests.
    Keygen(KeygenArgs),
    /// Serve `POST /add-checkpoint` for the logs or boards given.
    Serve(ServeArgs),
}

/// Arguments of `urne witness keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (refused if it exists).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The witness's name, e.g. witness.example.org/w1 (no spaces, no '+').
    #[arg(long, value_name = "NAME")]
    pub name: String,
}

/// Arguments of `urne witness serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The private key written by `urne witness keygen`.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Directory of the witness's state (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7380")]
    pub listen: SocketAddr,
    /// A log to follow: ORIGIN=VKEY (the log's checkpoint verifier key).
    #[arg(long = "log", value_name = "ORIGIN=VKEY")]
    pub logs: Vec<String>,
    /// A board all of whose elections to follow: its public key, 64 hex
    /// digits (`GET /v1/board-key` of the service).
    #[arg(long = "board", value_name = "HEX")]
    pub boards: Vec<String>,
}

/// Runs a witness subcommand.
pub async fn run(command: WitnessCommand) -> Result<(), CliError> {
    match command {
        WitnessCommand::Keygen(a) => Ok(keygen(&a)?),
        WitnessCommand::Serve(a) => serve(a).await,
    }
}

fn keygen(args: &KeygenArgs) -> Result<(), Failure> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut())
        .map_err(|e| Failure::plain(format!("no randomness from the system: {e}")))?;
    let key = WitnessKey::from_seed(&args.name, &seed).map_err(|e| {
        Failure::new(
            format!("cannot make a witness key named {:?}: {e}", args.name),
            "choose a name without spaces or '+', e.g. witness.example.org/w1",
        )
    })?;
    secret_file::create(&args.key, key.encode().as_bytes())?;
    println!("{}", key.verifier().to_vkey_string());
    eprintln!(
        "Key written to {} (keep it private). Send the line above and your URL to the organiser.",
        args.key.display()
    );
    Ok(())
}

/// Reads a witness key file.
pub fn read_key(path: &Path) -> Result<WitnessKey, Failure> {
    let bytes = secret_file::read(path)?;
    let text = std::str::from_utf8(&bytes).unwrap_or_default().trim();
    WitnessKey::decode(text).map_err(|e| {
        Failure::new(
            format!("{} is not a witness key: {e}", path.display()),
            "create one with `urne witness keygen --key FILE --name NAME`",
        )
    })
}

fn follows(args: &ServeArgs) -> Result<Follows, Failure> {
    let mut f = Follows::default();
    for log in &args.logs {
        let Some((origin, vkey)) = log.split_once('=') else {
            return Err(Failure::new(
                format!("--log {log:?} is not ORIGIN=VKEY"),
                "give the log's origin, '=', and its verifier key line",
            ));
        };
        let v = NoteVerifier::from_vkey_string(vkey).map_err(|e| {
            Failure::new(
                format!("--log {origin}: the verifier key is not usable: {e}"),
                "copy the key line exactly as the log publishes it",
            )
        })?;
        f.logs.insert(origin.to_owned(), v);
    }
    for b in &args.boards {
        let key = urne_crypto::text::decode_hex_array(b).map_err(|_| {
            Failure::new(
                format!("--board {b:?} is not 64 hex digits"),
                "copy public_key from the service's /v1/board-key",
            )
        })?;
        f.boards.push(key);
    }
    if f.logs.is_empty() && f.boards.is_empty() {
        return Err(Failure::new(
            "the witness follows no log",
            "add --board HEX (every election of a board) or --log ORIGIN=VKEY",
        ));
    }
    Ok(f)
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let key = read_key(&args.key)?;
    let follows = follows(&args)?;
    let name = key.name().to_owned();
    let witness = Arc::new(Witness::open(key, &args.data, follows)?);
    let listener = crate::witness::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!("witness {name} listening on http://{addr}");
    crate::witness::serve(witness, listener).await?;
    Ok(())
}
