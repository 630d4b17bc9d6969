//! The client side of urne: an HTTP client for every route of the v1 API
//! that checks every receipt it gets, a local replay of the board, and the
//! protocol steps of voters, trustees, lottery contributors and auditors as
//! pure functions over `urne_crypto` (the voter's, with receipts and the
//! board's setup, live in `urne-client` and are re-exported here).

pub mod api;
pub use urne_client::{audit, error, receipt, setup, voter};
pub mod auditor;
pub mod board;
pub mod contributor;
pub mod draft;
pub mod invitations;
pub mod keys;
pub mod results;
pub mod secret_file;
pub mod trustee;
pub mod wallet;

pub use api::Client;
pub use error::ClientError;
pub use receipt::Receipt;
