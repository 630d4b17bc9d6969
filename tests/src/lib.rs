//! End-to-end tests live in `tests/tests/`; this library is the offline
//! election fixture they (and the verifier's tests and benchmarks) share.
#![forbid(unsafe_code)]

pub mod fixture;
pub mod forgery;
