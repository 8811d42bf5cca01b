//! Which of the engine's allocations it is ready to see fail.
//!
//! The engine allocates through the embedder's global allocator. Most of its
//! load-time allocations are infallible (a `Vec` growing while a module is
//! checked and translated): if one failed, the engine would panic, and in
//! the kernel a panic is `BUG()`. Their sizes are bounded by the module's own
//! size (at most `abi::limits::MODULE_SIZE_MAX`), so an embedder that can
//! make an allocation infallible (the kernel module: `__GFP_NOFAIL` for its
//! loading task) makes them so.
//!
//! The allocations whose size a filter or its options choose beyond the
//! module's size (linear memory, the value stack, call frames, maps) are
//! made with `try_reserve` or a checked `alloc_zeroed`, and a failure is a
//! load refused with `NoMemory`. The engine makes them inside [`may_fail`];
//! the embedder's allocator asks [`now`] and lets those fail (the kernel:
//! `__GFP_NOWARN`, no `__GFP_NOFAIL`), rather than retry a large request
//! without end.
//!
//! One process-wide flag: it answers for whichever task is inside
//! [`may_fail`], so it is meaningful to an embedder whose load-time work is
//! serialized and that asks only for its loading task's allocations (the
//! kernel module does both: its registry's mutex, and its `LOADER` task).
//! Nothing on the packet path enters [`may_fail`]. Userspace ignores it.

use core::sync::atomic::{AtomicU32, Ordering};

/// Open [`may_fail`] scopes.
static OPEN: AtomicU32 = AtomicU32::new(0);

/// Runs `f`, whose allocations the engine handles failing (see the module
/// documentation).
pub(crate) fn may_fail<R>(f: impl FnOnce() -> R) -> R {
    OPEN.fetch_add(1, Ordering::Relaxed);
    let r = f();
    OPEN.fetch_sub(1, Ordering::Relaxed);
    r
}

/// Whether an allocation made now is one the engine handles failing.
pub fn now() -> bool {
    OPEN.load(Ordering::Relaxed) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_holds_inside_may_fail_only() {
        // Other tests' threads may be inside a scope: only check ours nests.
        let inside = may_fail(|| may_fail(now) && now());
        assert!(inside);
    }
}
