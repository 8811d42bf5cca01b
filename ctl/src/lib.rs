//! The `wasmnf` command's library: capture handling and replay, shared with
//! the benchmarks and the tests; and the client of the kernel module's
//! generic-netlink family.

pub mod capture;
pub mod counters;
pub mod maptext;
pub mod netlink;
pub mod replay;
