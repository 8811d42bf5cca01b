//! The allocations the engine marks as ready to fail
//! (`wasmnf_engine::fallible::may_fail`) are the large, user-sized ones, and
//! a failure of any of them is a load refused with `NoMemory`, never a
//! panic. The kernel module makes every other load-time allocation
//! `__GFP_NOFAIL` and lets these fail (docs/kernel.md, "Allocation failure
//! at load"); tests/vm/fault_inject.sh does the same sweep in the kernel.
//!
//! One test in this binary: the flag is process-wide, so no other test's
//! thread may be loading while this one fails allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use wasmnf_engine::{fallible, LoadError, Tier};
use wasmnf_tests::*;

struct Failing;

thread_local! {
    /// Allocations inside a `may_fail` scope so far, and their total size.
    static SEEN: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// Fail the allocation inside a `may_fail` scope with this number
    /// (1-based), if any.
    static FAIL_AT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Whether that allocation was failed.
    static FAILED: Cell<bool> = const { Cell::new(false) };
}

impl Failing {
    /// Whether to fail this `size`-byte request.
    fn fail(size: usize) -> bool {
        if !fallible::now() {
            return false;
        }
        let (n, bytes) = SEEN.with(Cell::get);
        SEEN.with(|s| s.set((n + 1, bytes + size)));
        if FAIL_AT.with(Cell::get) == Some(n + 1) {
            FAILED.with(|f| f.set(true));
            return true;
        }
        false
    }
}

// SAFETY: defers every operation to `System`, or returns null (a failure,
// which the `GlobalAlloc` contract allows).
unsafe impl GlobalAlloc for Failing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Failing::fail(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if Failing::fail(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Failing::fail(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Failing = Failing;

/// Loads `wasm` with `config` on the fast tier, failing the `fail_at`-th
/// allocation the engine is ready to see fail; returns the result, whether
/// that allocation was reached, and how many such allocations there were
/// (and their bytes).
fn load_failing(
    wasm: &[u8],
    config: &[&str],
    fail_at: Option<usize>,
) -> (Result<(), LoadError>, bool, (usize, usize)) {
    SEEN.with(|s| s.set((0, 0)));
    FAILED.with(|f| f.set(false));
    FAIL_AT.with(|f| f.set(fail_at));
    let r = load_tier(wasm, config, Tier::Fast).map(|inst| assert!(inst.is_fast()));
    FAIL_AT.with(|f| f.set(None));
    (r, FAILED.with(Cell::get), SEEN.with(Cell::get))
}

#[test]
fn every_fallible_load_allocation_fails_cleanly() {
    let filters: [(&str, &[&str]); 5] = [
        ("firewall", &[]),
        ("cidr_filter", &[]),
        ("top_talkers", &[]),
        ("icmp_ratelimit", &["rate=5"]),
        ("syn_flood", &["max=3"]),
    ];
    for (name, config) in filters {
        let wasm = wasm(name);
        let (r, _, (count, bytes)) = load_failing(&wasm, config, None);
        r.unwrap_or_else(|e| panic!("{name}: {e}"));
        // At least the linear memory, the value stack and the call frames;
        // and they are the large allocations (a filter's memory alone is
        // 64 KiB or more).
        assert!(count >= 3, "{name}: {count} allocations marked may_fail");
        assert!(bytes >= 64 * 1024, "{name}: {bytes} bytes marked may_fail");
        for n in 1..=count {
            let (r, failed, _) = load_failing(&wasm, config, Some(n));
            assert!(failed, "{name}: allocation {n} of {count} not reached");
            match r {
                Err(
                    LoadError::NoMemory
                    | LoadError::Map(wasmnf_engine::maps::MapError::NoMemory(_)),
                ) => {}
                Err(e) => panic!("{name}: allocation {n} failed: refused with {e:?}, not NoMemory"),
                Ok(()) => panic!("{name}: allocation {n} failed, yet the load succeeded"),
            }
        }
        // Past the last one, nothing fails and the load succeeds.
        let (r, failed, _) = load_failing(&wasm, config, Some(count + 1));
        assert!(r.is_ok() && !failed, "{name}: a load with nothing failed");
        eprintln!("{name}: {count} fallible allocations ({bytes} bytes), each refused cleanly");
    }
}
