// SPDX-License-Identifier: GPL-2.0

//! Safe types over the module-local bindings (`crate::bindings`), in the
//! style of the kernel's `rust/kernel/` abstractions. All `unsafe` code that
//! touches netfilter, generic netlink, network namespaces, socket buffers,
//! CPUs or RCU lives in this module.

pub(crate) mod cpu;
pub(crate) mod genl;
pub(crate) mod netfilter;
pub(crate) mod netns;
pub(crate) mod skb;
