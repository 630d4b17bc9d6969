//! `urne export`: an election's export file (§8.5), for `urne-verify` and
//! auditors. With `--data DIR` it reads the data directory of a stopped
//! server (the store is locked while a server runs); otherwise it downloads
//! `GET /v1/elections/{id}/export` from `--server`. With `--tiles DIR` it
//! also writes the board as static C2SP tlog-tiles (§6.10), built from the
//! export's entries and checked against its final checkpoint.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{parse_hex32, Context, ElectionArg, Failure};
use crate::board::tiles::StaticTiles;
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
    #[arg(long, value_name = "PATH", required_unless_present = "tiles")]
    pub out: Option<PathBuf>,
    /// Also (or instead) write the board as C2SP tlog-tiles into this new
    /// directory (`checkpoint`, `board-key`, `tile/...`, and `entries/<index>`
    /// for the entries of bundles left out because they hold an entry too
    /// long for a bundle), for any static web server.
    #[arg(long, value_name = "DIR")]
    pub tiles: Option<PathBuf>,
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
    if let Some(out) = &args.out {
        write_atomically(out, &bytes)
            .map_err(|e| Failure::plain(format!("writing {}: {e}", out.display())))?;
        println!(
            "export written to {} ({} bytes)",
            out.display(),
            bytes.len()
        );
    }
    if let Some(dir) = &args.tiles {
        let written = write_tiles(dir, &bytes)?;
        println!(
            "tiles of {} entries written to {} ({} files)",
            written.size,
            dir.display(),
            written.files
        );
        if !written.oversized.is_empty() {
            eprintln!(
                "note: {} entries are longer than 65535 bytes; the entry bundles holding them \
                 are left out and their entries are written alone as entries/<index> \
                 (the hash tiles are complete)",
                written.oversized.len()
            );
        }
    }
    Ok(())
}

/// What [`write_tiles`] wrote.
struct WrittenTiles {
    size: u64,
    files: usize,
    oversized: Vec<u64>,
}

/// Writes the tiles of the export `bytes` into the new directory `dir`:
/// built in a sibling `.partial` directory, checked against the export's
/// signed final checkpoint, then renamed into place.
fn write_tiles(dir: &Path, bytes: &[u8]) -> Result<WrittenTiles, Failure> {
    use urne_crypto::checkpoint::{open_signed_checkpoint, NoteVerifier};
    use urne_crypto::export::{ExportReader, Record};

    let unreadable = |e: &dyn std::fmt::Display| {
        Failure::new(format!("the export is unreadable: {e}"), "export it again")
    };
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::new(
            format!("{} already exists and is not empty", dir.display()),
            "pass a new directory to --tiles",
        ));
    }
    let mut reader = ExportReader::new(bytes).map_err(|e| unreadable(&e))?;
    let mut tiles = StaticTiles::new();
    let (mut verifier, mut last, mut board_key) = (None, None, None);
    while let Some(record) = reader.next_record().map_err(|e| unreadable(&e))? {
        match record {
            Record::BoardKey(k) => {
                verifier = Some(NoteVerifier::from_vkey_string(&k).map_err(|e| unreadable(&e))?);
                board_key = Some(k);
            }
            Record::Entry(e) => tiles.push(&e).map_err(|e| unreadable(&e))?,
            Record::Checkpoint(_) => {}
            Record::FinalCheckpoint(note) => last = Some(note),
        }
    }
    let (Some(verifier), Some(note), Some(board_key)) = (verifier, last, board_key) else {
        return Err(unreadable(&"no board key or final checkpoint"));
    };
    let checkpoint =
        open_signed_checkpoint(note.as_bytes(), &verifier).map_err(|e| unreadable(&e))?;
    if checkpoint.size != tiles.size() || checkpoint.root != tiles.root() {
        return Err(unreadable(
            &"its final checkpoint does not match its entries",
        ));
    }
    let size = tiles.size();
    let oversized = tiles.oversized().to_vec();
    // Every entry of a bundle left out (it holds an entry too long for a
    // bundle) is written alone as `entries/<index>`, so the mirror is complete.
    let left_out: std::collections::BTreeSet<u64> = oversized.iter().map(|i| i / 256).collect();
    let mut long_entries = Vec::new();
    if !left_out.is_empty() {
        let mut again = ExportReader::new(bytes).map_err(|e| unreadable(&e))?;
        let mut index = 0u64;
        while let Some(record) = again.next_record().map_err(|e| unreadable(&e))? {
            if let Record::Entry(e) = record {
                if left_out.contains(&(index / 256)) {
                    long_entries.push((index, e));
                }
                index += 1;
            }
        }
    }
    let built = tiles.finish();
    let files = built.len() + long_entries.len() + 2;
    let partial = dir.with_extension("partial");
    let written = (|| -> std::io::Result<()> {
        if partial.exists() {
            std::fs::remove_dir_all(&partial)?;
        }
        std::fs::create_dir_all(&partial)?;
        std::fs::write(partial.join("checkpoint"), note.as_bytes())?;
        std::fs::write(partial.join("board-key"), format!("{board_key}\n"))?;
        if !long_entries.is_empty() {
            std::fs::create_dir_all(partial.join("entries"))?;
        }
        for (index, entry) in &long_entries {
            std::fs::write(partial.join("entries").join(index.to_string()), entry)?;
        }
        for (tile, data) in &built {
            let path = partial.join(tile.path());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, data)?;
        }
        if dir.exists() {
            std::fs::remove_dir(dir)?;
        }
        std::fs::rename(&partial, dir)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_dir_all(&partial);
        Failure::new(
            format!("writing tiles into {}: {e}", dir.display()),
            "check that the directory's parent exists and is writable",
        )
    })?;
    Ok(WrittenTiles {
        size,
        files,
        oversized,
    })
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
