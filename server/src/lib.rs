//! urne-server: the board service and command line of urne.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api;
pub mod board;
pub mod cli;
pub mod client;
pub mod clock;
pub mod demo;
pub mod election;
pub mod sequencer;
pub mod server;
pub mod store;
pub mod witness;
