//! The voter's side of urne without I/O: the protocol steps (enrolment,
//! the blind credential session, ballots and their cast-as-intended audit),
//! the checks of receipts, checkpoints and the board's setup entries.
//!
//! Every function here is pure: callers fetch bytes over HTTP (the `urne`
//! command line with reqwest, the web app with `fetch`), feed them in and
//! save what comes out. Randomness comes in as `&mut impl CryptoRng`.
//!
//! Not here: HTTP, files, clocks, the terminal (see `urne-server`'s
//! `client` and `cli` modules, and `urne-wasm` for the browser).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod error;
pub mod invitation;
pub mod receipt;
pub mod recovery;
pub mod setup;
pub mod voter;

pub use error::ClientError;
pub use receipt::Receipt;
