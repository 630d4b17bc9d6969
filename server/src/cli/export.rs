//! `urne export`: an election's export file (§8.5), for `urne-verify` and
//! auditors. With `--data DIR` it reads the data directory of a stopped
//! server (the store is locked while a server runs); otherwise it downloads
//! `GET /v1/elections/{id}/export` from `--server`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{parse_hex32, Context, ElectionArg, Failure};
use crate::board::Board;
use crate::election::ElectionId;

/// Arguments of `urne export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Read this data directory (of a stopped server) instead of asking a server.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The election.
    #[command(flatten)]
    pub election: ElectionArg,
    /// Where to write the export.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
}

/// Runs `urne export`.
pub async fn run(ctx: &Context, args: ExportArgs) -> Result<(), Failure> {
    let bytes = match &args.data {
        Some(dir) => {
            let (size, bytes) = offline(dir, args.election.election.as_deref()).await?;
            eprintln!(
                "exported {} from {}",
                urne_verify::report::count(size, "entry", "entries"),
                dir.display()
            );
            bytes
        }
        None => {
            let client = ctx.client()?;
            let id = ctx.election(&client, &args.election).await?;
            client.export(&id).await?
        }
    };
    write_atomically(&args.out, &bytes)
        .map_err(|e| Failure::plain(format!("writing {}: {e}", args.out.display())))?;
    println!(
        "export written to {} ({} bytes)",
        args.out.display(),
        bytes.len()
    );
    Ok(())
}

/// The export of one election of a data directory, and its size.
async fn offline(dir: &Path, election: Option<&str>) -> Result<(u64, Vec<u8>), Failure> {
    if !dir.join(crate::board::key::KEY_FILE).exists() {
        return Err(Failure::new(
            format!("{} is not a server's data directory", dir.display()),
            "pass the directory given to `urne serve --data`",
        ));
    }
    let (board, thread) = Board::open(dir).map_err(|e| {
        Failure::new(
            format!("cannot open {}: {e}", dir.display()),
            "stop the server first, or export from it with --server URL",
        )
    })?;
    let result = (|| {
        let id = match election {
            Some(text) => ElectionId(parse_hex32(text, "election id")?),
            None => match board.logs().as_slice() {
                [(only, _)] => *only,
                _ => {
                    return Err(Failure::new(
                        "the data directory holds several elections (or none)",
                        "pass --election ID",
                    ))
                }
            },
        };
        let head = board
            .head(&id)
            .map_err(|e| Failure::new(format!("election {id}: {e}"), "check the election id"))?;
        let bytes = board
            .export(&id, &head, Vec::new())
            .map_err(|e| Failure::plain(format!("export of {id}: {e}")))?;
        Ok((head.size, bytes))
    })();
    thread.stop().await;
    result
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}
