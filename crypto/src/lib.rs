//! urne-crypto: every primitive and proof of the urne voting protocol.
//!
//! No I/O, no async, no server dependencies: the verifier relies on this
//! crate alone. `specs/protocol.md` is the normative description of what each
//! module implements.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ballot;
pub mod beacon;
pub mod checkpoint;
pub mod credential;
pub mod decryption;
pub mod dkg;
pub mod dleq;
pub mod elgamal;
pub mod encoding;
pub mod entry;
pub mod export;
pub mod group;
pub mod hash;
pub mod lottery;
pub mod manifest;
pub mod merkle;
pub mod record;
pub mod recovery;
pub mod rfc3797;
pub mod schnorr;
pub mod seats;
pub mod text;
pub mod tile;
pub mod transcript;
pub mod voter;
pub mod web_client;
pub mod witness;
