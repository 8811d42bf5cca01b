// SPDX-License-Identifier: GPL-2.0

//! Runs load-time engine work (checking, compiling, instantiating a filter)
//! on a separate 64 KiB stack.
//!
//! wasmi's module parser and compiler use large stack frames: measured in
//! the test VM, `Filter::new` + `Filter::instantiate` need about 13 KiB of
//! stack below the caller, which leaves no margin in a 16 KiB task stack
//! (and overflowed it when called from module init). The packet path is
//! small (see `selftest`) and runs on the normal stacks; only load-time
//! work, in process context, goes through [`run`].
//!
//! The switch mirrors the kernel's x86 `call_on_stack()`: the old stack
//! pointer is saved at the top of the new stack, `rsp` points there for the
//! call, and `pop rsp` restores it. The new stack is vmalloc'd, so running
//! off its end hits a guard page instead of corrupting memory. It is filled
//! with a pattern first, which gives the exact depth used.

use core::arch::asm;
use core::ffi::c_void;
use kernel::prelude::*;

/// Size of the load-time stack.
pub(crate) const SIZE: usize = 64 * 1024;
const PAINT: u64 = 0x4b43_4154_534e_4657; // "WFNSTACK"

struct Call<F, R> {
    f: Option<F>,
    r: Option<R>,
}

/// Entered on the new stack by [`run`].
///
/// # Safety
///
/// `data` points to a `Call<F, R>` that nothing else accesses during the call.
unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) {
    // SAFETY: `run` passes its exclusively borrowed `Call<F, R>`.
    let call = unsafe { &mut *data.cast::<Call<F, R>>() };
    if let Some(f) = call.f.take() {
        call.r = Some(f());
    }
}

/// Calls `f` on a fresh [`SIZE`]-byte stack and returns its result with the
/// number of bytes of that stack it used. Process context only: allocates
/// with `GFP_KERNEL`.
pub(crate) fn run<F: FnOnce() -> R, R>(f: F) -> Result<(R, usize)> {
    let mut stack = VVec::from_elem(PAINT, SIZE / 8, crate::gfp_request())?;
    let base = stack.as_mut_ptr() as usize;
    // 16-byte aligned top; the word at `tos` holds the caller's `rsp`.
    let tos = (base + SIZE - 16) & !15;
    let mut call = Call {
        f: Some(f),
        r: None,
    };
    let data = (&mut call as *mut Call<F, R>).cast::<c_void>();
    // SAFETY: `[base, base + SIZE)` is a live allocation owned by `stack`
    // and used by nothing else while the call runs, so it can serve as the
    // call's stack; `tos` lies inside it and is 16-byte aligned as the
    // x86-64 ABI expects before `call`. The callee returns with `rsp` back at
    // `tos`, where the caller's `rsp` was saved, and `pop rsp` restores it.
    // All registers the C ABI lets the callee clobber are declared clobbered.
    // `trampoline::<F, R>` gets the exclusively borrowed `call` in `rdi`.
    unsafe {
        asm!(
            "mov qword ptr [r11], rsp",
            "mov rsp, r11",
            "call {entry}",
            "pop rsp",
            entry = sym trampoline::<F, R>,
            inout("r11") tos => _,
            in("rdi") data,
            clobber_abi("C"),
        );
    }
    let untouched = stack.as_slice().iter().take_while(|&&w| w == PAINT).count();
    let used = SIZE - untouched * 8;
    match call.r.take() {
        Some(r) => Ok((r, used)),
        None => Err(EINVAL),
    }
}
