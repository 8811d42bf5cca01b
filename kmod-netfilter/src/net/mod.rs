// SPDX-License-Identifier: GPL-2.0

//! Safe types over the module-local bindings (`crate::bindings`), in the
//! style of the kernel's `rust/kernel/` abstractions. All `unsafe` code that
//! touches netfilter, generic netlink, network namespaces, socket buffers,
//! CPUs, RCU or the module's global state lives in this module; the only
//! other `unsafe` is the engine object's C interface (`crate::engine_ffi`),
//! the load stack (`crate::altstack`, `crate::stackprobe`) and the one
//! installation of the global registry at module init.

pub(crate) mod cpu;
pub(crate) mod genl;
pub(crate) mod netfilter;
pub(crate) mod netns;
pub(crate) mod skb;
pub(crate) mod sync;
