//! urne-crypto: every primitive and proof of the urne voting protocol.
//!
//! No I/O, no async, no server dependencies: the verifier relies on this
//! crate alone. `specs/protocol.md` is the normative description of what each
//! module implements.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
pub mod credential;
pub mod encoding;
pub mod export;
pub mod group;
pub mod hash;
pub mod merkle;
pub mod transcript;
