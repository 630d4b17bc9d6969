//! `urne-verify`: checks an exported urne election, trusting nothing the server says.
//!
//! Exit status: 0 the election verifies (completely, or so far for a running
//! election unless `--require-complete`), 1 it does not (including malformed
//! or truncated input), 2 usage error or unreadable path.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use urne_crypto::encoding::Canonical;
use urne_verify::{attest, Options, Outcome, Report};

#[derive(Parser)]
#[command(
    name = "urne-verify",
    version,
    about = "Verify an urne election from its export, trusting nothing else",
    after_help = "Exit status: 0 the election verifies (a running one: valid so far), \
                  1 it does not, 2 usage error or unreadable input.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    verify: VerifyArgs,
}

#[derive(Args)]
struct VerifyArgs {
    /// The export file, a service URL http://HOST/v1/elections/ID (plain HTTP),
    /// or a tile directory written by `urne export --tiles`.
    export: Option<String>,
    /// Read the URL as a C2SP tlog-tiles base (the service's, or a static
    /// mirror's): checkpoint, board-key, tile/… and entries/N; every tile is
    /// checked against the entries and the signed checkpoint. A directory is
    /// always read as tiles.
    #[arg(long)]
    tiles: bool,
    /// Print one JSON document on standard output instead of the human report.
    #[arg(long)]
    json: bool,
    /// Worker threads for ballot verification (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Keep a monitoring state in FILE: verify only what was appended since the last run.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Exit with status 1 unless the election is complete (every seat result verified).
    #[arg(long)]
    require_complete: bool,
    /// After a successful verification, sign an attestation entry with this auditor key file.
    #[arg(long, value_name = "KEYFILE", requires = "attest_out")]
    attest: Option<PathBuf>,
    /// Where to write the attestation entry (canonical CBOR); `-` for standard output.
    #[arg(long, value_name = "FILE", requires = "attest")]
    attest_out: Option<PathBuf>,
    /// Signed checkpoints from elsewhere (a receipt file, a note): each must be
    /// signed by the board and agree with the export. Put the export first.
    #[arg(long = "checkpoint", value_name = "FILE", num_args = 1..)]
    checkpoints: Vec<PathBuf>,
    /// Fail unless a quorum of the manifest's witnesses cosigned the final checkpoint.
    #[arg(long)]
    require_witnesses: bool,
}

#[derive(Subcommand)]
enum Command {
    /// RFC 3797 selection: print the selected 1-based positions in selection order.
    Rfc3797 {
        /// The key string (e.g. "9319./2.5.8.10.12./9.18.26.34.41.45./").
        #[arg(long)]
        key: String,
        /// Pool size N (positions 1..=N).
        #[arg(long, value_name = "N")]
        pool: u64,
        /// Number of positions to select.
        #[arg(long, value_name = "K")]
        select: usize,
    },
    /// Create an auditor key file (64 hex digits of an Ed25519 seed); prints the public key.
    Keygen {
        /// The key file to create (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn usage(message: &str) -> ExitCode {
    eprintln!("urne-verify: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Some(Command::Rfc3797 { key, pool, select }) => rfc3797(&key, pool, select),
        Some(Command::Keygen { out }) => keygen(&out),
        None => verify(cli.verify),
    }
}

fn rfc3797(key: &str, pool: u64, select: usize) -> ExitCode {
    match urne_crypto::rfc3797::select(key, pool, select) {
        Ok(positions) => {
            let lines: Vec<String> = positions.iter().map(u64::to_string).collect();
            emit(&format!("{}\n", lines.join("\n")));
            ExitCode::SUCCESS
        }
        Err(e) => usage(&e.to_string()),
    }
}

fn keygen(out: &std::path::Path) -> ExitCode {
    match attest::generate_key_file(out) {
        Ok(key) => {
            println!("{}", hex::encode(key.verifying_key().as_bytes()));
            ExitCode::SUCCESS
        }
        Err(e) => usage(&e.to_string()),
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    let Some(export) = args.export.as_deref() else {
        return usage("missing EXPORT (see --help)");
    };
    if args.json && args.attest_out.as_deref() == Some(std::path::Path::new("-")) {
        return usage("--attest-out - cannot share standard output with --json");
    }
    let key = match &args.attest {
        Some(path) => match attest::load_key(path) {
            Ok(k) => Some(k),
            Err(e) => return usage(&e.to_string()),
        },
        None => None,
    };
    let mut checkpoints = Vec::new();
    for path in &args.checkpoints {
        match std::fs::read(path) {
            Ok(bytes) => checkpoints.push(urne_verify::GivenCheckpoint::from_file_bytes(
                path.display().to_string(),
                &bytes,
            )),
            Err(e) => return usage(&format!("cannot read checkpoint {}: {e}", path.display())),
        }
    }
    let options = Options {
        threads: args.threads.map_or(0, usize::from),
        progress: !args.json,
        checkpoints,
        require_witnesses: args.require_witnesses,
        ..Options::default()
    };
    let run = if args.tiles {
        urne_verify::verify_tiles_since
    } else {
        urne_verify::verify_target_since
    };
    let (report, previous) = match run(export, args.state.as_deref(), &options) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    if let (Some(state), false) = (&args.state, args.json) {
        eprintln!(
            "{}",
            since_last_run(&state.display().to_string(), previous, &report)
        );
    }
    finish(&report, &args, key.as_ref())
}

/// What a `--state` run found new since the run that wrote the state.
fn since_last_run(
    state: &str,
    previous: Option<urne_verify::PreviousRun>,
    report: &Report,
) -> String {
    use urne_verify::report::count;
    match previous {
        None => format!(
            "first run with {state}: the whole board was verified; the next run verifies only what is new"
        ),
        Some(p) => {
            let entries = report.entries.saturating_sub(p.entries);
            let ballots = report.ballot_entries.saturating_sub(p.ballot_entries);
            if entries == 0 {
                format!("nothing new since the last run ({} verified then)", count(p.entries, "entry", "entries"))
            } else {
                format!(
                    "new since the last run: {} ({} → {}), {}",
                    count(entries, "entry", "entries"),
                    p.entries,
                    report.entries,
                    count(ballots, "ballot entry", "ballot entries")
                )
            }
        }
    }
}

/// Writes to standard output; a reader that has gone away (`| head`) is no
/// error: the exit status stays the verdict's.
fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("urne-verify: cannot write the report: {e}");
        }
    }
}

fn finish(report: &Report, args: &VerifyArgs, key: Option<&ed25519_dalek::SigningKey>) -> ExitCode {
    let attest_to_stdout = args.attest_out.as_deref() == Some(std::path::Path::new("-"));
    if args.json {
        emit(&format!("{}\n", report.to_json()));
    } else if attest_to_stdout {
        eprint!("{}", report.to_text());
    } else {
        emit(&report.to_text());
    }
    let ok = match report.status {
        Outcome::Valid => true,
        Outcome::ValidSoFar => !args.require_complete,
        Outcome::Invalid => false,
    };
    if !ok {
        return ExitCode::from(1);
    }
    if let (Some(key), Some(out)) = (key, &args.attest_out) {
        let entry = match attest::attestation_entry(report, key) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("urne-verify: {e}");
                return ExitCode::from(1);
            }
        };
        let bytes = entry.to_bytes();
        let written = if out.as_os_str() == "-" {
            std::io::stdout().write_all(&bytes)
        } else {
            std::fs::write(out, &bytes)
        };
        if let Err(e) = written {
            return usage(&format!("{}: {e}", out.display()));
        }
        if !args.json {
            eprintln!("attestation written to {}", out.display());
        }
    }
    ExitCode::SUCCESS
}
