//! urne-crypto: every primitive and proof of the urne voting protocol.
//!
//! No I/O, no async, no server dependencies: the verifier relies on this
//! crate alone. `specs/protocol.md` is the normative description of what each
//! module implements.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

<<<<<<< HEAD
pub mod credential;
=======
pub mod checkpoint;
>>>>>>> board
pub mod encoding;
pub mod export;
pub mod group;
pub mod hash;
<<<<<<< HEAD
pub mod lottery;
pub mod rfc3797;
pub mod seats;
=======
pub mod merkle;
>>>>>>> board
pub mod transcript;
