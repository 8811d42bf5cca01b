// SPDX-License-Identifier: GPL-2.0

//! The contract crate (`common/`, `wasmnf-common`), included by source:
//! Kbuild builds this module as one crate and cannot link a cargo crate, so
//! the same files userspace and the engine object compile are compiled here.
//! What the module does not use of them is allowed to stay unused.

/// The `wasmnf` generic-netlink family's numbers and limits.
#[allow(dead_code, unreachable_pub)]
#[path = "../../common/src/genl.rs"]
pub(crate) mod genl;

/// The filter resource limits.
#[allow(dead_code, unreachable_pub)]
#[path = "../../common/src/limits.rs"]
pub(crate) mod limits;

/// The per-filter counters, listed once.
#[allow(dead_code, unreachable_pub)]
#[path = "../../common/src/counters.rs"]
pub(crate) mod counters;

/// The engine object's C interface.
#[allow(dead_code, unreachable_pub)]
#[path = "../../common/src/ffi.rs"]
pub(crate) mod ffi;

/// Map declarations, kinds, limits and the map operations' return codes.
#[allow(dead_code, unreachable_pub)]
#[path = "../../common/src/maps.rs"]
pub(crate) mod maps;
