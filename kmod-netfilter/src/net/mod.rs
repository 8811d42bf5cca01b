// SPDX-License-Identifier: GPL-2.0

//! Safe types over the module-local bindings (`crate::bindings`), in the
//! style of the kernel's `rust/kernel/` abstractions. All `unsafe` code that
//! touches netfilter or socket buffers lives in this module.

pub(crate) mod netfilter;
pub(crate) mod skb;
