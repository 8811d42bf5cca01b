// SPDX-License-Identifier: GPL-2.0

//! Safe types over the engine object (`engine-ffi/`, linked into this
//! module), and the callbacks it needs from the kernel: allocation and the
//! panic report. All `unsafe` code touching the engine's C ABI lives here.

use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::bindings;

/// Opaque engine objects (owned through `NonNull` handles).
#[repr(C)]
struct RawFilter {
    _private: [u8; 0],
}
#[repr(C)]
struct RawInstance {
    _private: [u8; 0],
}

#[repr(C)]
struct RawBytes {
    ptr: *const u8,
    len: usize,
}

#[repr(C)]
struct RawPacket {
    linear: *const u8,
    linear_len: usize,
    len: usize,
    read: Option<unsafe extern "C" fn(*const c_void, usize, *mut u8, usize) -> bool>,
    read_ctx: *const c_void,
}

/// The hook context of one packet, as the filter sees it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Ctx {
    /// `NF_INET_*` hook number.
    pub(crate) hook: u32,
    /// `NFPROTO_*` family.
    pub(crate) family: u32,
    /// Input interface index.
    pub(crate) iif: u32,
    /// Output interface index.
    pub(crate) oif: u32,
    /// Packet mark.
    pub(crate) mark: u32,
    /// Monotonic time in nanoseconds.
    pub(crate) tstamp_ns: u64,
}

#[repr(C)]
struct RawLoadOptions {
    fuel: u64,
    memory_pages: u32,
    fail_closed: bool,
    config: *const u8,
    config_len: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawRunResult {
    verdict: u32,
    status: u32,
    detail: i32,
}

extern "C" {
    fn wasmnf_engine_abi_version() -> u32;
    fn wasmnf_engine_selftest_wasm(which: u32) -> RawBytes;
    fn wasmnf_engine_filter_new(
        wasm: *const u8,
        wasm_len: usize,
        fuel: u64,
        fail_closed: bool,
        err: *mut u8,
        err_cap: usize,
        err_len: *mut usize,
    ) -> *mut RawFilter;
    fn wasmnf_engine_filter_new_opts(
        wasm: *const u8,
        wasm_len: usize,
        opts: *const RawLoadOptions,
        err: *mut u8,
        err_cap: usize,
        err_len: *mut usize,
    ) -> *mut RawFilter;
    fn wasmnf_engine_filter_free(filter: *mut RawFilter);
    fn wasmnf_engine_filter_reads_timestamp(filter: *const RawFilter) -> bool;
    fn wasmnf_engine_instance_new(
        filter: *const RawFilter,
        err: *mut u8,
        err_cap: usize,
        err_len: *mut usize,
    ) -> *mut RawInstance;
    fn wasmnf_engine_instance_free(inst: *mut RawInstance);
    fn wasmnf_engine_instance_run(
        inst: *mut RawInstance,
        pkt: *const RawPacket,
        ctx: *const Ctx,
    ) -> RawRunResult;
    fn wasmnf_engine_describe_status(
        result: *const RawRunResult,
        buf: *mut u8,
        cap: usize,
    ) -> usize;
}

// ---- callbacks the engine object imports ------------------------------------

/// The task doing load-time engine work through [`with_load_allocations`],
/// or null. Allocations the engine makes from that task, in task context,
/// may sleep; every other allocation is atomic.
static LOADER: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// Runs `f` (load-time engine work: checking, compiling, instantiating) with
/// the engine's allocations made by this task as `GFP_KERNEL` through
/// `kvrealloc`, so a filter's linear memory (up to 16 MiB) need not be one
/// physically contiguous atomic allocation. Process context only; callers
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
/// allocate in any context), or `kvrealloc(ptr, size, GFP_KERNEL)` for the
/// loading task (see [`with_load_allocations`]). Null `ptr` allocates.
/// Blocks are freed with `kvfree`, which takes both kinds.
///
/// # Safety
///
/// `ptr` is null or a live block from this function.
#[no_mangle]
unsafe extern "C" fn wasmnf_kmod_krealloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if may_sleep() {
        // SAFETY: `ptr` is null or a live kmalloc/kvmalloc block (caller's
        // contract); we are the loading task in process context, where
        // GFP_KERNEL may sleep. kvrealloc returns kmalloc memory (natural
        // alignment for power-of-two sizes) or page-aligned vmalloc memory,
        // so the engine allocator's alignment contract holds.
        return unsafe { bindings::kvrealloc_noprof(ptr, size, bindings::GFP_KERNEL) };
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

/// Why the engine refused a filter or instance (its message, truncated).
pub(crate) struct EngineError {
    buf: [u8; 160],
    len: usize,
}

impl EngineError {
    fn new() -> Self {
        EngineError {
            buf: [0; 160],
            len: 0,
        }
    }

    /// The message.
    pub(crate) fn message(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len.min(self.buf.len())]).unwrap_or("?")
    }
}

/// How a filter is loaded (0 = the engine's default for numbers).
pub(crate) struct LoadOptions<'a> {
    /// Fuel per packet.
    pub(crate) fuel: u64,
    /// Linear memory limit in 64 KiB pages.
    pub(crate) memory_pages: u32,
    /// Failure policy: drop instead of accept.
    pub(crate) fail_closed: bool,
    /// Configuration, `key=value` lines.
    pub(crate) config: &'a [u8],
}

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
/// `ctx` is the `&R` that [`Instance::run`] passed with this function, alive
/// for the call; `dst` is valid for `n` bytes of writes.
unsafe extern "C" fn read_trampoline<R: PacketReader>(
    ctx: *const c_void,
    offset: usize,
    dst: *mut u8,
    n: usize,
) -> bool {
    // SAFETY: `ctx` is the `&R` given by `Instance::run`, alive for the run.
    let reader = unsafe { &*ctx.cast::<R>() };
    // SAFETY: the engine passes a buffer valid for `n` bytes of writes.
    let dst = unsafe { core::slice::from_raw_parts_mut(dst, n) };
    reader.read(offset, dst)
}

/// A checked, compiled filter.
///
/// # Invariants
///
/// `raw` is a live filter from `wasmnf_engine_filter_new`, owned by `self`.
pub(crate) struct Filter {
    raw: NonNull<RawFilter>,
}

impl Filter {
    /// Checks and compiles `wasm`; `fuel` per packet (0 = default). May
    /// allocate a lot: call at load time (process context).
    pub(crate) fn new(wasm: &[u8], fuel: u64, fail_closed: bool) -> Result<Self, EngineError> {
        let mut err = EngineError::new();
        // SAFETY: `wasm` is valid for its length; `err.buf` for its length;
        // `err.len` for a write.
        let raw = unsafe {
            wasmnf_engine_filter_new(
                wasm.as_ptr(),
                wasm.len(),
                fuel,
                fail_closed,
                err.buf.as_mut_ptr(),
                err.buf.len(),
                &mut err.len,
            )
        };
        NonNull::new(raw).map(|raw| Filter { raw }).ok_or(err)
    }

    /// Checks and compiles `wasm` with `options`: everything the engine
    /// checks (ABI, limits, configuration, compilation) is checked here, on
    /// bytes from userspace. May allocate a lot: call at load time (process
    /// context, on the load stack).
    pub(crate) fn with_options(
        wasm: &[u8],
        options: &LoadOptions<'_>,
    ) -> Result<Self, EngineError> {
        let mut err = EngineError::new();
        let raw_opts = RawLoadOptions {
            fuel: options.fuel,
            memory_pages: options.memory_pages,
            fail_closed: options.fail_closed,
            config: options.config.as_ptr(),
            config_len: options.config.len(),
        };
        // SAFETY: `wasm` and `options.config` are valid for their lengths;
        // `raw_opts` for reads; `err.buf` for its length; `err.len` for a write.
        let raw = unsafe {
            wasmnf_engine_filter_new_opts(
                wasm.as_ptr(),
                wasm.len(),
                &raw_opts,
                err.buf.as_mut_ptr(),
                err.buf.len(),
                &mut err.len,
            )
        };
        NonNull::new(raw).map(|raw| Filter { raw }).ok_or(err)
    }

    /// Whether runs can see the packet's timestamp; if not, the context's
    /// `tstamp_ns` is never read and need not come from the clock.
    pub(crate) fn reads_timestamp(&self) -> bool {
        // SAFETY: `self.raw` is live (type invariant).
        unsafe { wasmnf_engine_filter_reads_timestamp(self.raw.as_ptr()) }
    }

    /// A new instance, ready for packets (compiles, allocates, runs `init`).
    pub(crate) fn instantiate(&self) -> Result<Instance, EngineError> {
        let mut err = EngineError::new();
        // SAFETY: `self.raw` is live (type invariant); error buffer as above.
        let raw = unsafe {
            wasmnf_engine_instance_new(
                self.raw.as_ptr(),
                err.buf.as_mut_ptr(),
                err.buf.len(),
                &mut err.len,
            )
        };
        NonNull::new(raw).map(|raw| Instance { raw }).ok_or(err)
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and owned (type invariant), not used again.
        unsafe { wasmnf_engine_filter_free(self.raw.as_ptr()) }
    }
}

// SAFETY: a filter is immutable after creation and the engine keeps no
// thread-local state; it may be used and freed from any thread.
unsafe impl Send for Filter {}
// SAFETY: as above: `instantiate` only reads the filter.
unsafe impl Sync for Filter {}

/// A filter's fate for one packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    /// Let it pass.
    Accept,
    /// Drop it.
    Drop,
}

/// How a run ended, besides its verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    /// The filter returned a verdict.
    Ok,
    /// The filter trapped (engine trap code).
    Trap(i32),
    /// The filter ran out of fuel.
    OutOfFuel,
    /// The filter returned a non-verdict value.
    InvalidVerdict(i32),
}

/// The outcome of one run.
#[derive(Clone, Copy)]
pub(crate) struct RunResult {
    raw: RawRunResult,
}

impl RunResult {
    /// The verdict, after the failure policy.
    #[inline]
    pub(crate) fn verdict(&self) -> Verdict {
        if self.raw.verdict == 0 {
            Verdict::Drop
        } else {
            Verdict::Accept
        }
    }

    /// How the run ended.
    #[inline]
    pub(crate) fn status(&self) -> Status {
        match self.raw.status {
            0 => Status::Ok,
            1 => Status::Trap(self.raw.detail),
            2 => Status::OutOfFuel,
            _ => Status::InvalidVerdict(self.raw.detail),
        }
    }

    /// The status in words, written into `buf`.
    pub(crate) fn describe<'a>(&self, buf: &'a mut [u8]) -> &'a str {
        // SAFETY: `self.raw` is valid for reads; `buf` for its length.
        let n = unsafe { wasmnf_engine_describe_status(&self.raw, buf.as_mut_ptr(), buf.len()) };
        core::str::from_utf8(&buf[..n.min(buf.len())]).unwrap_or("?")
    }
}

/// One instance of a filter. `run` takes `&mut self`: one CPU at a time.
///
/// # Invariants
///
/// `raw` is a live instance from `wasmnf_engine_instance_new`, owned by
/// `self`.
pub(crate) struct Instance {
    raw: NonNull<RawInstance>,
}

impl Instance {
    /// Runs the filter on a packet held in one linear buffer. Allocates
    /// nothing and never sleeps.
    pub(crate) fn run_linear(&mut self, pkt: &[u8], ctx: &Ctx) -> RunResult {
        let raw_pkt = RawPacket {
            linear: pkt.as_ptr(),
            linear_len: pkt.len(),
            len: pkt.len(),
            read: None,
            read_ctx: ptr::null(),
        };
        // SAFETY: `self.raw` is live and exclusively borrowed (type invariant
        // and `&mut self`); `raw_pkt` describes `pkt`, which is borrowed for
        // the call and does not change; `ctx` is valid.
        let raw = unsafe { wasmnf_engine_instance_run(self.raw.as_ptr(), &raw_pkt, ctx) };
        RunResult { raw }
    }
}

impl Instance {
    /// Runs the filter on a packet of `len` bytes whose first bytes are
    /// `linear` (read in place) and whose rest `rest` copies on demand.
    /// Allocates nothing and never sleeps.
    #[inline]
    pub(crate) fn run<R: PacketReader>(
        &mut self,
        linear: &[u8],
        len: usize,
        rest: &R,
        ctx: &Ctx,
    ) -> RunResult {
        let raw_pkt = RawPacket {
            linear: linear.as_ptr(),
            linear_len: linear.len(),
            len,
            read: Some(read_trampoline::<R>),
            read_ctx: (rest as *const R).cast::<c_void>(),
        };
        // SAFETY: `self.raw` is live and exclusively borrowed (type invariant
        // and `&mut self`); `raw_pkt` describes a packet borrowed for the
        // call (`linear` and `rest`), with a read callback whose context is
        // `rest` itself; `ctx` is valid.
        let raw = unsafe { wasmnf_engine_instance_run(self.raw.as_ptr(), &raw_pkt, ctx) };
        RunResult { raw }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and owned (type invariant), not running (we
        // hold `&mut self`), and not used again.
        unsafe { wasmnf_engine_instance_free(self.raw.as_ptr()) }
    }
}

// SAFETY: an instance may move between threads; `run` needs `&mut self`, so
// it never runs on two CPUs at once.
unsafe impl Send for Instance {}
