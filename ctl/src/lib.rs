//! The `wasmnf` command's library: capture handling and replay, shared with
//! the benchmarks and the tests.

pub mod capture;
pub mod replay;
