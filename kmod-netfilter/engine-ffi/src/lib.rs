//! The wasmnf engine packaged for the kernel module.
//!
//! `build.sh` compiles this crate for `x86_64-unknown-none` (kernel code
//! model, no red zone, soft-float, static relocations, no GOT) and relinks
//! it, with `core`, `alloc`, `wasmparser` and `wasmnf-engine` (built without
//! wasmi), into one object whose only global symbols are the
//! `wasmnf_engine_*` functions of [`api`].
//!
//! What the module provides in return (all `extern "C"`, see `kalloc` and
//! `panic`): `wasmnf_kmod_krealloc` / `wasmnf_kmod_kfree` (kmalloc family with
//! `GFP_ATOMIC`, so the engine may allocate in any context, except for the
//! module's loading task, which gets `kvrealloc` with `GFP_KERNEL`; it is
//! told whether the engine handles a failure, `wasmnf_engine::fallible`;
//! small requests kmalloc refuses fall back to a static reserve, see
//! `reserve`) and
//! `wasmnf_kmod_engine_panic`, which reports and never returns.
//!
//! `unsafe` lives only at this FFI edge; every block says what it relies on.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

extern crate alloc;

pub mod api;
pub mod kalloc;
#[cfg(not(test))]
mod panic;
pub mod reserve;
mod text;
