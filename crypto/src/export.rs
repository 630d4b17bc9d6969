//! The export format: an election's board as one self-contained stream that
//! `urne-verify` checks without trusting anything else (§8.5).
//!
//! ```text
//! export  = magic record*
//! magic   = "urne-export/v1\n"
//! record  = tag:u8 ‖ len:u32be ‖ payload[len]
//! ```
//!
//! Tags: 1 = board verifier key (UTF-8 note key string), 2 = an intermediate
//! signed checkpoint (UTF-8 signed note), 3 = one board entry (canonical
//! bytes, in index order), 4 = the final signed checkpoint. A valid export has
//! exactly one key record first, entries in order, and exactly one final
//! checkpoint last; checkpoints may appear anywhere in between.

use std::io::{self, Read, Write};

use thiserror::Error;

/// The first bytes of every export.
pub const MAGIC: &[u8] = b"urne-export/v1\n";

/// Largest record accepted (bounds memory on hostile input): 16 MiB.
pub const MAX_RECORD: u32 = 16 << 20;

/// One record of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The board's note verifier key string.
    BoardKey(String),
    /// An intermediate signed checkpoint note.
    Checkpoint(String),
    /// A board entry's canonical bytes.
    Entry(Vec<u8>),
    /// The final signed checkpoint note.
    FinalCheckpoint(String),
}

/// Why an export cannot be read.
#[derive(Debug, Error)]
pub enum ExportError {
    /// Underlying I/O failure.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The stream does not start with [`MAGIC`].
    #[error("not an urne export (bad magic)")]
    Magic,
    /// The stream ends in the middle of a record.
    #[error("truncated export")]
    Truncated,
    /// Unknown record tag.
    #[error("unknown record tag {0}")]
    Tag(u8),
    /// A record longer than [`MAX_RECORD`].
    #[error("record of {0} bytes exceeds the limit")]
    TooLarge(u32),
    /// A text record is not UTF-8.
    #[error("text record is not UTF-8")]
    Utf8,
}

/// Writes an export stream.
pub struct ExportWriter<W: Write> {
    out: W,
}

impl<W: Write> ExportWriter<W> {
    /// Starts an export: writes the magic and the board key record.
    pub fn new(mut out: W, board_key: &str) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        let mut w = ExportWriter { out };
        w.write(&Record::BoardKey(board_key.to_string()))?;
        Ok(w)
    }

    /// Appends one record.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        let (tag, payload): (u8, &[u8]) = match record {
            Record::BoardKey(s) => (1, s.as_bytes()),
            Record::Checkpoint(s) => (2, s.as_bytes()),
            Record::Entry(b) => (3, b),
            Record::FinalCheckpoint(s) => (4, s.as_bytes()),
        };
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= MAX_RECORD)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        self.out.write_all(&[tag])?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(payload)
    }

    /// Finishes with the final checkpoint and returns the writer.
    pub fn finish(mut self, final_checkpoint: &str) -> io::Result<W> {
        self.write(&Record::FinalCheckpoint(final_checkpoint.to_string()))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads an export stream record by record (constant memory).
pub struct ExportReader<R: Read> {
    input: R,
}

impl<R: Read> ExportReader<R> {
    /// Checks the magic and prepares to read records.
    pub fn new(mut input: R) -> Result<Self, ExportError> {
        let mut magic = [0u8; MAGIC.len()];
        read_exact_or(&mut input, &mut magic, ExportError::Magic)?;
        if magic != MAGIC {
            return Err(ExportError::Magic);
        }
        Ok(ExportReader { input })
    }

    /// The next record, or `None` at a clean end of stream.
    pub fn next_record(&mut self) -> Result<Option<Record>, ExportError> {
        let mut tag = [0u8; 1];
        match self.input.read(&mut tag) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.next_record(),
            Err(e) => return Err(e.into()),
        }
        let mut len = [0u8; 4];
        read_exact_or(&mut self.input, &mut len, ExportError::Truncated)?;
        let len = u32::from_be_bytes(len);
        if len > MAX_RECORD {
            return Err(ExportError::TooLarge(len));
        }
        let mut payload = vec![0u8; len as usize];
        read_exact_or(&mut self.input, &mut payload, ExportError::Truncated)?;
        let text = |p: Vec<u8>| String::from_utf8(p).map_err(|_| ExportError::Utf8);
        Ok(Some(match tag[0] {
            1 => Record::BoardKey(text(payload)?),
            2 => Record::Checkpoint(text(payload)?),
            3 => Record::Entry(payload),
            4 => Record::FinalCheckpoint(text(payload)?),
            t => return Err(ExportError::Tag(t)),
        }))
    }
}

fn read_exact_or<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    short: ExportError,
) -> Result<(), ExportError> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(short),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = ExportWriter::new(Vec::new(), "board+01234567+AQID").expect("write");
        w.write(&Record::Entry(vec![1, 2, 3])).expect("write");
        w.write(&Record::Checkpoint("cp\n".into())).expect("write");
        w.write(&Record::Entry(vec![])).expect("write");
        w.finish("final\n").expect("write")
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Record>, ExportError> {
        let mut r = ExportReader::new(bytes)?;
        let mut out = vec![];
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        let records = read_all(&sample()).expect("read");
        assert_eq!(
            records,
            vec![
                Record::BoardKey("board+01234567+AQID".into()),
                Record::Entry(vec![1, 2, 3]),
                Record::Checkpoint("cp\n".into()),
                Record::Entry(vec![]),
                Record::FinalCheckpoint("final\n".into()),
            ]
        );
    }

    #[test]
    fn rejects_truncation_bad_magic_and_tags() {
        let full = sample();
        for cut in MAGIC.len() + 1..full.len() {
            let r = read_all(&full[..cut]);
            // A cut on a record boundary reads cleanly but loses the final checkpoint;
            // any other cut must be reported as truncation.
            if let Ok(records) = r {
                assert!(!matches!(records.last(), Some(Record::FinalCheckpoint(_))));
            } else {
                assert!(
                    matches!(r, Err(ExportError::Truncated)),
                    "cut at {cut}: {r:?}"
                );
            }
        }
        assert!(matches!(
            read_all(b"urne-export/v2\n"),
            Err(ExportError::Magic)
        ));
        assert!(matches!(read_all(b"urne"), Err(ExportError::Magic)));
        let mut bad = MAGIC.to_vec();
        bad.extend_from_slice(&[9, 0, 0, 0, 0]);
        assert!(matches!(read_all(&bad), Err(ExportError::Tag(9))));
        let mut big = MAGIC.to_vec();
        big.extend_from_slice(&[3, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(read_all(&big), Err(ExportError::TooLarge(_))));
    }
}
