// SPDX-License-Identifier: GPL-2.0

//! Measures the stack a call uses, by stack painting: fill the unused part
//! of the current task stack below the caller's frame with a pattern, make
//! the call, and find the deepest word that no longer holds the pattern.
//!
//! Painting and scanning are done in inline assembly (`rep stosq` /
//! `repe scasq`) on memory below the stack pointer that no Rust object
//! occupies. An interrupt taken during the call pushes its entry frame on
//! this stack before switching to the IRQ stack, so the figure can only be
//! an over-estimate (by at most that frame), never an under-estimate.

use core::arch::asm;

const PAINT: u64 = 0x5453_464e_4d53_4157; // "WASMNFST"
/// Task stacks on x86_64 are at least 16 KiB and aligned to their size, so
/// rounding the stack pointer down to 16 KiB never leaves the stack.
const STACK_ALIGN: usize = 16 * 1024;
/// Left alone at the stack's bottom (`STACK_END_MAGIC`, canaries).
const BOTTOM_GUARD: usize = 256;
/// Left alone just below the caller's frame.
const TOP_GAP: usize = 64;

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register; no memory access.
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Calls `f` and returns its result with the number of stack bytes used
/// below this function's frame, or `None` when the probe could not tell
/// (not enough free stack to paint, or all of the paint was overwritten).
#[inline(never)]
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, Option<usize>) {
    let sp = stack_pointer();
    let lo = (sp & !(STACK_ALIGN - 1)) + BOTTOM_GUARD;
    let hi = (sp - TOP_GAP) & !7;
    if hi < lo + 16 {
        return (f(), None);
    }
    let words = (hi - lo) / 8;
    // SAFETY: `[lo, hi)` lies inside the current task stack (stacks are
    // `STACK_ALIGN`-aligned and at least that large), below the stack
    // pointer, i.e. in its unused part: no live object is there, and the
    // kernel has no red zone. The direction flag is clear (kernel ABI).
    unsafe {
        asm!(
            "rep stosq",
            inout("rdi") lo => _,
            inout("rcx") words => _,
            in("rax") PAINT,
            options(nostack, preserves_flags),
        )
    };
    let r = f();
    let remaining: usize;
    let all_equal: u8;
    // SAFETY: reads the same range `[lo, hi)` of this task's stack, which is
    // still mapped; only compares words, writes nothing.
    unsafe {
        asm!(
            "repe scasq",
            "sete {eq}",
            eq = out(reg_byte) all_equal,
            inout("rdi") lo => _,
            inout("rcx") words => remaining,
            in("rax") PAINT,
            options(nostack, readonly),
        )
    };
    if all_equal != 0 {
        // Nothing below the gap was touched.
        return (r, Some(TOP_GAP));
    }
    // `repe scasq` stopped just after the lowest word that lost the paint.
    let first_used = words - remaining - 1;
    if first_used == 0 {
        // The paint was overwritten down to its end: the probe cannot tell.
        return (r, None);
    }
    (r, Some(sp - (lo + first_used * 8)))
}
