//! The `wasmnf` family's numbers, from the contract crate
//! ([`wasmnf_common::genl`], the same definitions the kernel module
//! compiles; `docs/netlink.md` is checked against them), and the few
//! netlink-level sizes the client needs.

pub use wasmnf_common::genl::*;

/// Size of `struct nlmsghdr`.
pub const NLMSGHDR_LEN: usize = 16;
