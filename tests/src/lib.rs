//! End-to-end tests live in `tests/tests/`; this library is the offline
//! election fixture they (and the verifier's tests and benchmarks) share,
//! and the generator of the conformance suite (`specs/conformance/`).
#![forbid(unsafe_code)]

pub mod conformance;
pub mod fixture;
pub mod forgery;
pub mod served;
