// SPDX-License-Identifier: GPL-2.0

//! Raw bindings for kernel APIs that `kernel::bindings` does not provide
//! (netfilter hooks, `struct sk_buff`, `init_net`), plus the C wrappers of
//! `src/helpers.c`.
//!
//! `bindings_generated.rs` is produced at module build time by
//! `tools/gen-bindings.sh` from `bindings_helper.h`, with the clang flags the
//! kernel used for its own bindings. Nothing outside `crate::net` uses these
//! items: the safe types over them live there.

#![allow(
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    unnecessary_transmutes,
    clippy::all,
    clippy::undocumented_unsafe_blocks
)]

// The kernel's bindgen parameters block these so that they map to Rust's
// pointer-sized integers (as `rust/bindings/lib.rs` does).
type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");
