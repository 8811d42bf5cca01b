//! The contract between wasmnf's sides, defined once.
//!
//! Every number or layout that two sides of a boundary must agree on lives
//! here, and every side uses it:
//!
//! | module | boundary | users |
//! |---|---|---|
//! | [`genl`] | the generic-netlink family (`docs/netlink.md`) | `ctl`, the kernel module, `tests/vm/nlraw` |
//! | [`limits`] | resource limits of a filter | the engine, the module's netlink policy, `ctl` |
//! | [`counters`] | the per-filter counters | the engine, the module, netlink, `wasmnf stats`, `replay --json` |
//! | [`maps`] | map declarations in a filter (`docs/abi.md` "Maps") | the SDK, the engine, `ctl` |
//! | [`ffi`] | the engine object's C interface | `kmod-netfilter/engine-ffi` (exports) and the module (imports) |
//!
//! No dependencies and `no_std`: the kernel module is built by Kbuild as one
//! crate and includes these files by path (`kmod-netfilter/src/contract.rs`);
//! so each module here uses only `core` and its siblings through `super::`.
//! Tests (`tests/tests/contract_doc.rs`) check `docs/netlink.md` and
//! `docs/abi.md` against these definitions.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod counters;
pub mod ffi;
pub mod genl;
pub mod limits;
pub mod maps;
