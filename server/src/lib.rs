//! urne-server: the board service and command line of urne.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod election;
pub mod sequencer;
pub mod store;
