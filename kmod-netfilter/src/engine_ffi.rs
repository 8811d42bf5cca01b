// SPDX-License-Identifier: GPL-2.0

//! The module's side of the engine object (`engine-ffi/`, linked into this
//! module): safe types over its C interface, whose `#[repr(C)]` types and
//! codes come from the contract (`crate::contract::ffi`, the same source
//! `engine-ffi` compiles), and the callbacks the engine object needs from
//! the kernel: allocation and the panic report. All `unsafe` code touching
//! the engine's C interface lives here.

use crate::contract::ffi::{self, Bytes, LoadOptions, MapInfo, Packet, Refusal};
use crate::net::cpu::{BhGuard, GraceElapsed};
use crate::net::sync::ReadSide;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;
use kernel::error::Error;

pub(crate) use crate::contract::ffi::{Ctx, RunResult};

/// Opaque engine objects (owned through `NonNull` handles).
#[repr(C)]
struct RawFilter {
    _private: [u8; 0],
}
#[repr(C)]
struct RawInstance {
    _private: [u8; 0],
}

extern "C" {
    fn wasmnf_engine_abi_version() -> u32;
    fn wasmnf_engine_selftest_wasm(which: u32) -> Bytes;
    fn wasmnf_engine_filter_new(
        wasm: *const u8,
        wasm_len: usize,
        opts: *const LoadOptions,
        refusal: *mut Refusal,
    ) -> *mut RawFilter;
    fn wasmnf_engine_filter_free(filter: *mut RawFilter);
    fn wasmnf_engine_filter_reads_timestamp(filter: *const RawFilter) -> bool;
    fn wasmnf_engine_instance_new(
        filter: *const RawFilter,
        cpu: u32,
        refusal: *mut Refusal,
    ) -> *mut RawInstance;
    fn wasmnf_engine_map_count(filter: *const RawFilter) -> u32;
    fn wasmnf_engine_map_info(filter: *const RawFilter, id: u32, out: *mut MapInfo) -> bool;
    fn wasmnf_engine_map_find(filter: *const RawFilter, name: *const u8, len: usize) -> i32;
    fn wasmnf_engine_map_lookup(
        filter: *const RawFilter,
        id: u32,
        key: *const u8,
        key_len: usize,
        value: *mut u8,
        value_len: usize,
    ) -> i32;
    fn wasmnf_engine_map_update(
        filter: *const RawFilter,
        id: u32,
        key: *const u8,
        key_len: usize,
        value: *const u8,
        value_len: usize,
        flags: i32,
    ) -> i32;
    fn wasmnf_engine_map_delete(
        filter: *const RawFilter,
        id: u32,
        key: *const u8,
        key_len: usize,
    ) -> i32;
    fn wasmnf_engine_map_clear(filter: *const RawFilter, id: u32) -> i32;
    fn wasmnf_engine_map_next(
        filter: *const RawFilter,
        id: u32,
        cursor: u64,
        key: *mut u8,
        key_len: usize,
        value: *mut u8,
        value_len: usize,
        next: *mut u64,
    ) -> i32;
    fn wasmnf_engine_maps_reclaim(filter: *const RawFilter);
    fn wasmnf_engine_maps_share(filter: *const RawFilter) -> *const c_void;
    fn wasmnf_engine_maps_release(shared: *const c_void);
    fn wasmnf_engine_maps_kept(filter: *const RawFilter, shared: *const c_void) -> u32;
    fn wasmnf_engine_instance_free(inst: *mut RawInstance);
    fn wasmnf_engine_instance_run(
        inst: *const RawInstance,
        pkt: *const Packet,
        ctx: *const Ctx,
    ) -> RunResult;
}

// ---- callbacks the engine object imports ------------------------------------

/// The task doing load-time engine work through [`with_load_allocations`],
/// or null. Allocations the engine makes from that task, in task context,
/// may sleep; every other allocation is atomic.
static LOADER: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// Runs `f` (load-time engine work: checking, compiling, instantiating) with
/// the engine's allocations made by this task through `kvrealloc` with
/// `GFP_KERNEL` (`__GFP_NOFAIL`, or `__GFP_NOWARN` where the engine handles
/// a failure: [`wasmnf_kmod_krealloc`]), so a filter's linear memory (up to
/// 16 MiB) need not be one physically contiguous atomic allocation. Process context only; callers
/// serialize (the registry's mutex), so `LOADER` has one owner at a time.
pub(crate) fn with_load_allocations<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: `current` is always valid in process context.
    let me = unsafe { crate::bindings::wasmnf_helper_current() }.cast::<c_void>();
    LOADER.store(me, Ordering::Relaxed);
    let r = f();
    LOADER.store(ptr::null_mut(), Ordering::Relaxed);
    r
}

/// Whether an allocation now may sleep: it comes from the loading task in
/// task context (not from an interrupt or softirq that interrupted it).
fn may_sleep() -> bool {
    let loader = LOADER.load(Ordering::Relaxed);
    if loader.is_null() {
        return false;
    }
    // SAFETY: no preconditions; both read the current CPU's state.
    unsafe {
        crate::bindings::wasmnf_helper_in_task()
            && crate::bindings::wasmnf_helper_current().cast::<c_void>() == loader
    }
}

/// `krealloc(ptr, size, GFP_ATOMIC)` (never sleeps, so the engine may
/// allocate in any context), or `kvrealloc` for the loading task (see
/// [`with_load_allocations`]). Null `ptr` allocates. Blocks are freed with
/// `kvfree`, which takes both kinds.
///
/// The loading task's requests are where an infallible allocation of the
/// engine (a `Vec` growing while a module is checked and translated) would
/// turn a failure into a panic, i.e. `BUG()`. Those are `GFP_KERNEL |
/// __GFP_NOFAIL`: their sizes are bounded by the module's size (1 MiB at
/// most), and `kvrealloc` implements `__GFP_NOFAIL` for any size (the
/// kmalloc attempt drops it above a page, the vmalloc fallback retries
/// order-0 pages). What the engine is ready to see fail (`may_fail`: the
/// filter's linear memory, stacks and maps, whose sizes the filter and the
/// user choose; `wasmnf_engine::fallible`) is `GFP_KERNEL | __GFP_NOWARN`,
/// and a failure is a load refused with ENOMEM and its own message.
/// tests/vm/fault_inject.sh fails each of a load's allocations in turn.
///
/// # Safety
///
/// `ptr` is null or a live block from this function.
#[no_mangle]
unsafe extern "C" fn wasmnf_kmod_krealloc(
    ptr: *mut c_void,
    size: usize,
    may_fail: bool,
) -> *mut c_void {
    if may_sleep() {
        // SAFETY: no preconditions (process context, which we are in).
        if may_fail && unsafe { crate::bindings::wasmnf_helper_fail_engine_alloc(size) } {
            // Fault injection (debug kernels; helpers.c): as if it failed.
            return ptr::null_mut();
        }
        let extra = if may_fail {
            crate::bindings::WASMNF_GFP_NOWARN
        } else {
            crate::bindings::WASMNF_GFP_NOFAIL
        };
        // SAFETY: `ptr` is null or a live kmalloc/kvmalloc block (caller's
        // contract); we are the loading task in process context, where
        // GFP_KERNEL may sleep (and __GFP_NOFAIL may wait). kvrealloc
        // returns kmalloc memory (natural alignment for power-of-two sizes)
        // or page-aligned vmalloc memory, so the engine allocator's
        // alignment contract holds.
        return unsafe {
            bindings::kvrealloc_noprof(ptr, size, bindings::GFP_KERNEL | extra as bindings::gfp_t)
        };
    }
    // SAFETY: `is_vmalloc_addr` only compares the address with the vmalloc range.
    if !ptr.is_null() && unsafe { bindings::is_vmalloc_addr(ptr) } {
        // A vmalloc'd block (from load time) cannot be resized atomically.
        return ptr::null_mut();
    }
    // SAFETY: `ptr` is null or a live kmalloc block (checked above);
    // GFP_ATOMIC never sleeps.
    unsafe { bindings::krealloc(ptr, size, bindings::GFP_ATOMIC) }
}

/// The engine's fault-injection point (`fail_wasmnf_alloc` in debugfs, on
/// kernels with `CONFIG_FAULT_INJECTION_DEBUG_FS`; helpers.c), there while
/// this value lives.
pub(crate) struct FaultInjection(());

impl FaultInjection {
    pub(crate) fn new() -> Self {
        // SAFETY: no preconditions; a failure to create the debugfs
        // directory leaves the point without its knobs (it never fails).
        unsafe { crate::bindings::wasmnf_helper_fault_init() };
        FaultInjection(())
    }
}

impl Drop for FaultInjection {
    fn drop(&mut self) {
        // SAFETY: `new` ran; removing a missing directory is a no-op.
        unsafe { crate::bindings::wasmnf_helper_fault_exit() };
    }
}

/// `kvfree(ptr)`.
///
/// # Safety
///
/// `ptr` is null or a live block from `wasmnf_kmod_krealloc`, not used again.
#[no_mangle]
unsafe extern "C" fn wasmnf_kmod_kfree(ptr: *mut c_void) {
    // SAFETY: caller's contract; kvfree takes kmalloc and vmalloc blocks.
    unsafe { bindings::kvfree(ptr) }
}

/// The engine panicked (a bug: it must not): report loudly, then `BUG()`.
///
/// # Safety
///
/// `msg` is valid for `len` bytes of reads.
#[no_mangle]
unsafe extern "C" fn wasmnf_kmod_engine_panic(msg: *const u8, len: usize) -> ! {
    // SAFETY: `msg` is valid for `len` bytes (caller's contract).
    let bytes = unsafe { core::slice::from_raw_parts(msg, len) };
    let text = core::str::from_utf8(bytes).unwrap_or("(message not UTF-8)");
    kernel::pr_emerg!("ENGINE PANIC (bug in wasmnf engine): {}\n", text);
    // SAFETY: `BUG()` has no preconditions; it does not return.
    unsafe { bindings::BUG() }
}

// ---- safe API ---------------------------------------------------------------

/// The filter ABI version the linked engine implements.
pub(crate) fn abi_version() -> u32 {
    // SAFETY: no arguments, no preconditions.
    unsafe { wasmnf_engine_abi_version() }
}

/// The self-test filters built into the engine object.
#[derive(Clone, Copy)]
pub(crate) enum SelftestFilter {
    /// Drops IPv4 UDP to port 8080.
    DropUdp8080 = 0,
    /// Loops forever: runs out of fuel.
    Spin = 1,
    /// Calls every host function, 40 Wasm calls deep; accepts if all checks pass.
    Hostcalls = 2,
    /// Valid Wasm outside the engine's instruction set: must be refused.
    Unsupported = 3,
}

/// The Wasm bytes of a built-in self-test filter.
pub(crate) fn selftest_wasm(which: SelftestFilter) -> &'static [u8] {
    // SAFETY: no preconditions.
    let raw = unsafe { wasmnf_engine_selftest_wasm(which as u32) };
    if raw.ptr.is_null() {
        return &[];
    }
    // SAFETY: the engine returns a range of its own static data, valid for
    // `len` bytes for the module's lifetime.
    unsafe { core::slice::from_raw_parts(raw.ptr, raw.len) }
}

/// Why the engine refused a filter or instance: its class and message.
pub(crate) struct EngineError(Refusal);

impl EngineError {
    /// The message (as the engine wrote it, at most
    /// [`ffi::REFUSAL_MESSAGE_MAX`] bytes).
    pub(crate) fn message(&self) -> &str {
        self.0.message()
    }

    /// The refusal's class ([`ffi::refusal`]).
    pub(crate) fn code(&self) -> u32 {
        self.0.code
    }

    /// The errno the module answers this refusal with
    /// ([`ffi::refusal::errno_of`], `docs/netlink.md`).
    pub(crate) fn errno(&self) -> Error {
        Error::from_errno(-ffi::refusal::errno_of(self.0.code))
    }
}

/// How a filter is loaded (0 = the engine's default for numbers).
pub(crate) struct FilterOptions<'a> {
    /// Fuel per packet.
    pub(crate) fuel: u64,
    /// Linear memory limit in 64 KiB pages.
    pub(crate) memory_pages: u32,
    /// Failure policy: drop instead of accept.
    pub(crate) fail_closed: bool,
    /// Configuration, `key=value` lines.
    pub(crate) config: &'a [u8],
    /// Bytes the filter's maps may take.
    pub(crate) map_memory: u64,
    /// CPU ids that run instances (`nr_cpu_ids`).
    pub(crate) cpus: u32,
    /// The maps of the filter this one replaces, to keep those that carry
    /// over.
    pub(crate) keep: Option<&'a SharedMaps>,
}

/// A reference to a filter's maps that outlives the filter: what a
/// replacing filter keeps its maps from.
///
/// # Invariants
///
/// `raw` is a live share from `wasmnf_engine_maps_share`, owned by `self`.
pub(crate) struct SharedMaps {
    raw: NonNull<c_void>,
}

impl Drop for SharedMaps {
    fn drop(&mut self) {
        // SAFETY: `raw` is a live share owned by `self` (type invariant).
        unsafe { wasmnf_engine_maps_release(self.raw.as_ptr()) }
    }
}

// SAFETY: a share is a reference count on maps made of atomics: it may be
// moved, used and released on any thread.
unsafe impl Send for SharedMaps {}
// SAFETY: as above; through `&` it is only read.
unsafe impl Sync for SharedMaps {}

/// The bytes of a packet past its linear part, copied on demand: what the
/// engine's read callback calls. Implemented over the skb by the data plane.
pub(crate) trait PacketReader {
    /// Copies `[offset, offset + dst.len())` of the packet into `dst`;
    /// `false` if the range is not inside the packet.
    fn read(&self, offset: usize, dst: &mut [u8]) -> bool;
}

/// The engine's read callback for an `R: PacketReader`.
///
/// # Safety
///
/// `ctx` is the `&R` that [`EngineInstance::run`] passed with this
/// function, alive for the call; `dst` is valid for `n` bytes of writes.
unsafe extern "C" fn read_trampoline<R: PacketReader>(
    ctx: *const c_void,
    offset: usize,
    dst: *mut u8,
    n: usize,
) -> bool {
    // SAFETY: `ctx` is the `&R` given by `EngineInstance::run`, alive for
    // the run.
    let reader = unsafe { &*ctx.cast::<R>() };
    // SAFETY: the engine passes a buffer valid for `n` bytes of writes.
    let dst = unsafe { core::slice::from_raw_parts_mut(dst, n) };
    reader.read(offset, dst)
}

/// A checked, compiled filter in the engine object.
///
/// # Invariants
///
/// `raw` is a live filter from `wasmnf_engine_filter_new`, owned by `self`.
pub(crate) struct EngineFilter {
    raw: NonNull<RawFilter>,
}

impl EngineFilter {
    /// Checks and compiles `wasm` with `options`: everything the engine
    /// checks (ABI, limits, configuration, compilation) is checked here, on
    /// bytes from userspace. May allocate a lot: call at load time (process
    /// context, on the load stack).
    pub(crate) fn new(wasm: &[u8], options: &FilterOptions<'_>) -> Result<Self, EngineError> {
        let mut refusal = Refusal::new();
        let raw_opts = LoadOptions {
            fuel: options.fuel,
            memory_pages: options.memory_pages,
            fail_closed: options.fail_closed,
            config: options.config.as_ptr(),
            config_len: options.config.len(),
            map_memory: options.map_memory,
            // SAFETY: no preconditions; the key of the hash maps' hashing.
            seed: unsafe { crate::bindings::get_random_u64() },
            cpus: options.cpus,
            keep_maps: options
                .keep
                .map_or(ptr::null(), |k| k.raw.as_ptr().cast_const()),
        };
        // SAFETY: `wasm` and `options.config` are valid for their lengths;
        // `raw_opts` for reads; `refusal` for a write.
        let raw =
            unsafe { wasmnf_engine_filter_new(wasm.as_ptr(), wasm.len(), &raw_opts, &mut refusal) };
        NonNull::new(raw)
            .map(|raw| EngineFilter { raw })
            .ok_or(EngineError(refusal))
    }

    /// Whether runs can see the packet's timestamp; if not, the context's
    /// `tstamp_ns` is never read and need not come from the clock.
    pub(crate) fn reads_timestamp(&self) -> bool {
        // SAFETY: `self.raw` is live (type invariant).
        unsafe { wasmnf_engine_filter_reads_timestamp(self.raw.as_ptr()) }
    }

    /// A new instance for CPU `cpu` (its per-CPU map rows), ready for
    /// packets (allocates, runs `init`).
    pub(crate) fn instantiate(&self, cpu: usize) -> Result<EngineInstance, EngineError> {
        let mut refusal = Refusal::new();
        // SAFETY: `self.raw` is live (type invariant); `refusal` is valid
        // for a write.
        let raw =
            unsafe { wasmnf_engine_instance_new(self.raw.as_ptr(), cpu as u32, &mut refusal) };
        NonNull::new(raw)
            .map(|raw| EngineInstance { raw })
            .ok_or(EngineError(refusal))
    }
}

/// A map of a filter, by id, checked to exist.
#[derive(Clone, Copy)]
pub(crate) struct MapId(u32);

/// What a map operation answered: `0` or a negative errno
/// ([`crate::contract::maps::ret`]).
pub(crate) type MapRet = i32;

impl EngineFilter {
    /// How many maps the filter declares.
    pub(crate) fn map_count(&self) -> u32 {
        // SAFETY: `self.raw` is live (type invariant).
        unsafe { wasmnf_engine_map_count(self.raw.as_ptr()) }
    }

    /// Map `id`, if the filter has it.
    pub(crate) fn map(&self, id: u32) -> Option<MapId> {
        (id < self.map_count()).then_some(MapId(id))
    }

    /// The map named `name`.
    pub(crate) fn map_named(&self, name: &[u8]) -> Option<MapId> {
        // SAFETY: `self.raw` is live; `name` is valid for its length.
        let id = unsafe { wasmnf_engine_map_find(self.raw.as_ptr(), name.as_ptr(), name.len()) };
        u32::try_from(id).ok().map(MapId)
    }

    /// A map's declaration, memory and entry count.
    pub(crate) fn map_info(&self, map: MapId) -> Option<MapInfo> {
        let mut out = MapInfo {
            decl: [0; crate::contract::maps::RECORD_SIZE],
            bytes: 0,
            entries: 0,
            rows: 0,
        };
        // SAFETY: `self.raw` is live; `out` is valid for a write.
        unsafe { wasmnf_engine_map_info(self.raw.as_ptr(), map.0, &mut out) }.then_some(out)
    }

    /// Bytes all the filter's maps take.
    pub(crate) fn map_bytes(&self) -> u64 {
        (0..self.map_count())
            .filter_map(|id| self.map(id).and_then(|m| self.map_info(m)))
            .map(|i| i.bytes)
            .sum()
    }

    /// Copies `key`'s value, every row, into `value`. Never sleeps.
    pub(crate) fn map_lookup(&self, map: MapId, key: &[u8], value: &mut [u8]) -> MapRet {
        // SAFETY: `self.raw` is live; the slices are valid for their
        // lengths (the engine checks them against the declaration).
        unsafe {
            wasmnf_engine_map_lookup(
                self.raw.as_ptr(),
                map.0,
                key.as_ptr(),
                key.len(),
                value.as_mut_ptr(),
                value.len(),
            )
        }
    }

    /// Inserts or replaces `key` (update `flags`), with bottom halves off
    /// (`_bh`): a packet-path writer on this CPU cannot interrupt it while
    /// it holds the map's lock.
    pub(crate) fn map_update(
        &self,
        _bh: &BhGuard,
        map: MapId,
        key: &[u8],
        value: &[u8],
        flags: i32,
    ) -> MapRet {
        // SAFETY: `self.raw` is live; the slices are valid for their lengths.
        unsafe {
            wasmnf_engine_map_update(
                self.raw.as_ptr(),
                map.0,
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
                flags,
            )
        }
    }

    /// Deletes `key`, with bottom halves off (as [`Self::map_update`]).
    pub(crate) fn map_delete(&self, _bh: &BhGuard, map: MapId, key: &[u8]) -> MapRet {
        // SAFETY: `self.raw` is live; `key` is valid for its length.
        unsafe { wasmnf_engine_map_delete(self.raw.as_ptr(), map.0, key.as_ptr(), key.len()) }
    }

    /// Removes every entry, with bottom halves off (as [`Self::map_update`]).
    pub(crate) fn map_clear(&self, _bh: &BhGuard, map: MapId) -> MapRet {
        // SAFETY: `self.raw` is live.
        unsafe { wasmnf_engine_map_clear(self.raw.as_ptr(), map.0) }
    }

    /// One scan step from `cursor`: the next entry's key and value rows,
    /// and the cursor after it; `Ok(None)` at the end. Inside an RCU
    /// read-side section (`_rcu`), so no trie node it reads is reused.
    pub(crate) fn map_next(
        &self,
        _rcu: &ReadSide<'_>,
        map: MapId,
        cursor: u64,
        key: &mut [u8],
        value: &mut [u8],
    ) -> Result<Option<u64>, MapRet> {
        let mut next = 0u64;
        // SAFETY: `self.raw` is live; the slices are valid for their
        // lengths; `next` for a write.
        let r = unsafe {
            wasmnf_engine_map_next(
                self.raw.as_ptr(),
                map.0,
                cursor,
                key.as_mut_ptr(),
                key.len(),
                value.as_mut_ptr(),
                value.len(),
                &mut next,
            )
        };
        match r {
            0 => Ok(Some(next)),
            crate::contract::maps::ret::ENOENT => Ok(None),
            e => Err(e),
        }
    }

    /// A reference to the filter's maps for a filter that replaces it.
    /// Allocates nothing: allowed inside an RCU read-side section.
    pub(crate) fn share_maps(&self) -> Option<SharedMaps> {
        // SAFETY: `self.raw` is live (type invariant).
        let raw = unsafe { wasmnf_engine_maps_share(self.raw.as_ptr()) };
        NonNull::new(raw.cast_mut()).map(|raw| SharedMaps { raw })
    }

    /// How many of this filter's maps are shared with `old`'s.
    pub(crate) fn maps_kept(&self, old: &SharedMaps) -> u32 {
        // SAFETY: both are live (type invariants).
        unsafe { wasmnf_engine_maps_kept(self.raw.as_ptr(), old.raw.as_ptr()) }
    }

    /// Lets the filter's tries reuse the nodes deleted entries left, with
    /// the evidence that a grace period passed since those deletes, and
    /// with bottom halves off (it takes each trie's writer lock, as
    /// [`Self::map_update`] does).
    pub(crate) fn maps_reclaim(&self, _bh: &BhGuard, _grace: &GraceElapsed) {
        // SAFETY: `self.raw` is live; `_grace` proves a grace period ended
        // after every delete made before it was taken, and filter runs and
        // scans are RCU readers.
        unsafe { wasmnf_engine_maps_reclaim(self.raw.as_ptr()) }
    }
}

impl Drop for EngineFilter {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and owned (type invariant), not used again.
        unsafe { wasmnf_engine_filter_free(self.raw.as_ptr()) }
    }
}

// SAFETY: a filter is immutable after creation and the engine keeps no
// thread-local state; it may be used and freed from any thread.
unsafe impl Send for EngineFilter {}
// SAFETY: as above: `instantiate` only reads the filter.
unsafe impl Sync for EngineFilter {}

/// One instance of a filter in the engine object. It runs one packet at a
/// time: the engine refuses (as a trap) a run that finds it running, so
/// `run` takes `&self` and the handle is shared between CPUs; the data plane
/// gives each CPU its own instance so that never happens.
///
/// # Invariants
///
/// `raw` is a live instance from `wasmnf_engine_instance_new`, owned by
/// `self`.
pub(crate) struct EngineInstance {
    raw: NonNull<RawInstance>,
}

impl EngineInstance {
    /// Runs the filter on a packet held in one linear buffer. Allocates
    /// nothing and never sleeps.
    pub(crate) fn run_linear(&self, pkt: &[u8], ctx: &Ctx) -> RunResult {
        let raw_pkt = Packet {
            linear: pkt.as_ptr(),
            linear_len: pkt.len(),
            len: pkt.len(),
            read: None,
            read_ctx: ptr::null(),
        };
        // SAFETY: `self.raw` is live (type invariant); `raw_pkt` describes
        // `pkt`, which is borrowed for the call and does not change; `ctx`
        // is valid.
        unsafe { wasmnf_engine_instance_run(self.raw.as_ptr(), &raw_pkt, ctx) }
    }

    /// Runs the filter on a packet of `len` bytes whose first bytes are
    /// `linear` (read in place) and whose rest `rest` copies on demand.
    /// Allocates nothing and never sleeps. The result's verdict is
    /// netfilter's (`NF_DROP`, `NF_ACCEPT`).
    #[inline]
    pub(crate) fn run<R: PacketReader>(
        &self,
        linear: &[u8],
        len: usize,
        rest: &R,
        ctx: &Ctx,
    ) -> RunResult {
        let raw_pkt = Packet {
            linear: linear.as_ptr(),
            linear_len: linear.len(),
            len,
            read: Some(read_trampoline::<R>),
            read_ctx: (rest as *const R).cast::<c_void>(),
        };
        // SAFETY: `self.raw` is live (type invariant); `raw_pkt` describes a
        // packet borrowed for the call (`linear` and `rest`), with a read
        // callback whose context is `rest` itself; `ctx` is valid.
        unsafe { wasmnf_engine_instance_run(self.raw.as_ptr(), &raw_pkt, ctx) }
    }
}

impl Drop for EngineInstance {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and owned (type invariant), not running (a
        // run borrows `self`, which is being dropped), and not used again.
        unsafe { wasmnf_engine_instance_free(self.raw.as_ptr()) }
    }
}

// SAFETY: an instance may move between threads and be freed anywhere.
unsafe impl Send for EngineInstance {}
// SAFETY: `run` through `&self` from several CPUs is safe: the engine
// object lets one run in at a time and refuses the others.
unsafe impl Sync for EngineInstance {}

// The verdicts cross the interface as netfilter's numbers: the hook
// returns them without mapping.
const _: () = assert!(ffi::verdict::DROP == crate::bindings::NF_DROP);
const _: () = assert!(ffi::verdict::ACCEPT == crate::bindings::NF_ACCEPT);

// The contract's errno numbers are this kernel's.
const _: () = {
    use ffi::refusal::errno;
    assert!(errno::EINVAL == bindings::EINVAL as i32);
    assert!(errno::EOPNOTSUPP == bindings::EOPNOTSUPP as i32);
    assert!(errno::E2BIG == bindings::E2BIG as i32);
    assert!(errno::ECANCELED == bindings::ECANCELED as i32);
    assert!(errno::ENOMEM == bindings::ENOMEM as i32);
};
