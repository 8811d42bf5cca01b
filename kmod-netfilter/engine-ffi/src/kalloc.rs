//! The global allocator: kmalloc through the module, safe in atomic context.
//!
//! kmalloc guarantees only `ARCH_KMALLOC_MINALIGN` (8 bytes on x86_64) in
//! general, and natural alignment for power-of-two sizes up to the page size
//! (Documentation/core-api/memory-allocation.rst). So a layout aligned to
//! more than 8 bytes is served with a power-of-two size of at least its
//! alignment, and alignments above the page size are refused (null, which
//! the caller sees as an allocation failure).

/// `ARCH_KMALLOC_MINALIGN` on x86_64.
pub const KMALLOC_MINALIGN: usize = 8;
/// The largest alignment kmalloc can guarantee: `PAGE_SIZE` on x86_64.
pub const KMALLOC_MAXALIGN: usize = 4096;

/// The size to ask kmalloc for so that a block of `size` bytes comes back
/// aligned to `align` (a power of two), or `None` if kmalloc cannot
/// guarantee that alignment or the size overflows.
pub fn kmalloc_size(size: usize, align: usize) -> Option<usize> {
    debug_assert!(align.is_power_of_two());
    if align <= KMALLOC_MINALIGN {
        return Some(size.max(1));
    }
    if align > KMALLOC_MAXALIGN {
        return None;
    }
    size.max(align).checked_next_power_of_two()
}

#[cfg(not(test))]
mod global {
    use super::kmalloc_size;
    use crate::reserve::Reserve;
    use core::alloc::{GlobalAlloc, Layout};
    use core::ffi::c_void;
    use core::ptr;
    use wasmnf_engine::fallible;

    extern "C" {
        /// `krealloc(ptr, size, GFP_ATOMIC)` (`kmalloc` when `ptr` is null),
        /// returning null on failure; for the module's loading task
        /// `kvrealloc(ptr, size, GFP_KERNEL)`, which may sleep and, unless
        /// `may_fail` (the engine is ready for a failure:
        /// `wasmnf_engine::fallible`), does not fail.
        fn wasmnf_kmod_krealloc(ptr: *mut c_void, size: usize, may_fail: bool) -> *mut c_void;
        /// `kfree(ptr)`.
        fn wasmnf_kmod_kfree(ptr: *mut c_void);
    }

    struct KernelAllocator;

    /// Blocks for small allocations kmalloc refuses (see [`crate::reserve`]).
    static RESERVE: Reserve = Reserve::new();

    // SAFETY: `alloc` returns either null or a fresh kmalloc block of at
    // least `layout.size()` bytes aligned to `layout.align()` (checked below,
    // guaranteed by `kmalloc_size`); `dealloc` frees exactly such blocks;
    // `realloc` keeps the contents and the alignment (krealloc either keeps
    // the block, which was aligned, or moves it to a new block of the
    // requested power-of-two size, which is naturally aligned).
    unsafe impl GlobalAlloc for KernelAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let Some(size) = kmalloc_size(layout.size(), layout.align()) else {
                return ptr::null_mut();
            };
            // SAFETY: a null `ptr` makes krealloc a kmalloc; the callback
            // sleeps only in the loading task's process context.
            let p = unsafe { wasmnf_kmod_krealloc(ptr::null_mut(), size, fallible::now()) }
                .cast::<u8>();
            if p.is_null() {
                // A small block from the reserve, or null if it is spent too.
                return RESERVE.take(layout.size(), layout.align());
            }
            if !(p as usize).is_multiple_of(layout.align()) {
                // Cannot happen under kmalloc's guarantee; refuse rather than
                // hand out misaligned memory.
                // SAFETY: `p` was just returned by kmalloc and is unused.
                unsafe { wasmnf_kmod_kfree(p.cast()) };
                return ptr::null_mut();
            }
            p
        }

        unsafe fn dealloc(&self, p: *mut u8, _layout: Layout) {
            if RESERVE.give(p) {
                return;
            }
            // SAFETY: the caller passes a block from `alloc`/`realloc` that
            // is not the reserve's, i.e. from kmalloc/krealloc, not yet freed.
            unsafe { wasmnf_kmod_kfree(p.cast()) }
        }

        unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if RESERVE.owns(p) {
                // Move out of (or within) the reserve: a fresh block, copy,
                // release the old one.
                // SAFETY: `new_size` is non-zero and, with `layout.align()`,
                // forms a valid layout (the caller's contract for realloc).
                let new_layout =
                    unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
                // SAFETY: as for any `alloc`.
                let q = unsafe { self.alloc(new_layout) };
                if !q.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least
                    // `min(old, new)` bytes long.
                    unsafe { ptr::copy_nonoverlapping(p, q, layout.size().min(new_size)) };
                    RESERVE.give(p);
                }
                return q;
            }
            let Some(size) = kmalloc_size(new_size, layout.align()) else {
                return ptr::null_mut();
            };
            // SAFETY: `p` is a live block from kmalloc/krealloc (caller's
            // contract); on failure krealloc leaves it untouched, as
            // `GlobalAlloc::realloc` requires.
            let q = unsafe { wasmnf_kmod_krealloc(p.cast(), size, fallible::now()) }.cast::<u8>();
            debug_assert!(q.is_null() || (q as usize).is_multiple_of(layout.align()));
            q
        }
    }

    #[global_allocator]
    static ALLOCATOR: KernelAllocator = KernelAllocator;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_alignments_keep_the_size() {
        assert_eq!(kmalloc_size(24, 1), Some(24));
        assert_eq!(kmalloc_size(24, 8), Some(24));
        assert_eq!(kmalloc_size(0, 8), Some(1));
    }

    #[test]
    fn larger_alignments_use_power_of_two_sizes_of_at_least_the_alignment() {
        assert_eq!(kmalloc_size(24, 16), Some(32));
        assert_eq!(kmalloc_size(8, 64), Some(64));
        assert_eq!(kmalloc_size(96, 32), Some(128));
        assert_eq!(kmalloc_size(4096, 4096), Some(4096));
        assert_eq!(kmalloc_size(5000, 4096), Some(8192));
        for align in [16usize, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            for size in [1usize, 7, 15, 17, 100, 1000, 3000, 70000] {
                let s = kmalloc_size(size, align).unwrap();
                assert!(
                    s.is_power_of_two() && s >= size && s >= align,
                    "{size} {align} -> {s}"
                );
            }
        }
    }

    #[test]
    fn alignments_above_a_page_and_overflow_are_refused() {
        assert_eq!(kmalloc_size(16, 8192), None);
        assert_eq!(kmalloc_size(usize::MAX - 3, 16), None);
    }
}
