//! A small reserve of memory for allocations kmalloc refuses.
//!
//! wasmi boxes every trap (one small allocation per trapping or out-of-fuel
//! run), and an allocation failure inside wasmi ends in the panic handler,
//! which in the kernel is `BUG()`. Under memory pressure a trapping filter
//! in softirq could therefore take the machine down. The global allocator
//! falls back to this reserve for small blocks when `GFP_ATOMIC` kmalloc
//! fails: [`SLOTS`] blocks of [`SLOT_SIZE`] bytes, claimed and released with
//! atomic bit operations, so it works in any context without a lock. It only
//! has to carry the few blocks a failing run holds until its error is
//! dropped, on every CPU at once.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, Ordering};

/// Number of reserve blocks.
pub const SLOTS: usize = 64;
/// Size of each block, which is also its alignment.
pub const SLOT_SIZE: usize = 128;

#[repr(C, align(128))]
struct Block(UnsafeCell<[u8; SLOT_SIZE]>);

/// The blocks, and which are in use (bit `i` of `used` for `blocks[i]`).
pub struct Reserve {
    blocks: [Block; SLOTS],
    used: AtomicU64,
}

// SAFETY: a block is handed to one owner at a time: `take` claims it with an
// atomic `fetch_or` that only one caller can win, and only `give` (called by
// the owner, once) releases it. The bytes are never touched by `Reserve`.
unsafe impl Sync for Reserve {}

impl Reserve {
    /// An empty reserve.
    pub const fn new() -> Self {
        Reserve {
            blocks: [const { Block(UnsafeCell::new([0; SLOT_SIZE])) }; SLOTS],
            used: AtomicU64::new(0),
        }
    }

    /// A free block for `size` bytes aligned to `align`, or null if the
    /// request does not fit a block or every block is in use.
    pub fn take(&self, size: usize, align: usize) -> *mut u8 {
        if size > SLOT_SIZE || align > SLOT_SIZE {
            return core::ptr::null_mut();
        }
        let mut used = self.used.load(Ordering::Relaxed);
        while used != u64::MAX {
            let i = (!used).trailing_zeros() as usize;
            let bit = 1u64 << i;
            let before = self.used.fetch_or(bit, Ordering::Acquire);
            if before & bit == 0 {
                return self.blocks[i].0.get().cast();
            }
            used = before | bit;
        }
        core::ptr::null_mut()
    }

    /// The slot index of `p` if it is a block of this reserve.
    fn index(&self, p: *const u8) -> Option<usize> {
        let base = self.blocks.as_ptr() as usize;
        let off = (p as usize).checked_sub(base)?;
        (off < SLOTS * SLOT_SIZE && off % SLOT_SIZE == 0).then_some(off / SLOT_SIZE)
    }

    /// Whether `p` is a block of this reserve.
    pub fn owns(&self, p: *const u8) -> bool {
        self.index(p).is_some()
    }

    /// Releases `p` if it is a block of this reserve; returns whether it was.
    pub fn give(&self, p: *const u8) -> bool {
        match self.index(p) {
            Some(i) => {
                self.used.fetch_and(!(1u64 << i), Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Blocks in use.
    pub fn in_use(&self) -> u32 {
        self.used.load(Ordering::Relaxed).count_ones()
    }
}

impl Default for Reserve {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_every_block_once_and_takes_them_back() {
        let r = Box::new(Reserve::new());
        let mut blocks = Vec::new();
        for _ in 0..SLOTS {
            let p = r.take(48, 16);
            assert!(!p.is_null() && r.owns(p));
            assert_eq!(p as usize % SLOT_SIZE, 0);
            assert!(!blocks.contains(&p));
            blocks.push(p);
        }
        assert!(r.take(8, 8).is_null(), "exhausted");
        assert_eq!(r.in_use(), SLOTS as u32);
        assert!(r.give(blocks[5]));
        assert_eq!(r.take(8, 8), blocks[5], "the freed block comes back");
        for p in blocks {
            assert!(r.give(p));
        }
        assert_eq!(r.in_use(), 0);
    }

    #[test]
    fn refuses_what_does_not_fit_and_foreign_pointers() {
        let r = Reserve::new();
        assert!(r.take(SLOT_SIZE + 1, 8).is_null());
        assert!(r.take(8, 256).is_null());
        let outside = [0u8; 4];
        assert!(!r.give(outside.as_ptr()));
        let p = r.take(1, 1);
        assert!(!r.give(p.wrapping_add(1)), "not a block start");
        assert!(r.give(p));
    }

    #[test]
    fn concurrent_takers_never_share_a_block() {
        let r = std::sync::Arc::new(Reserve::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    for _ in 0..SLOTS / 4 {
                        got.push(r.take(64, 8) as usize);
                    }
                    got
                })
            })
            .collect();
        let mut all: Vec<usize> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        assert!(all.iter().all(|p| *p != 0));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), SLOTS);
    }
}
