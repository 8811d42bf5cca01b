//! The C ABI the kernel module calls. Handles are boxed engine objects;
//! every function checks its pointers for null and never panics on input.
//!
//! Contexts: `filter_new`, `instance_new` and the `_free` functions
//! allocate or free and are meant for load/unload time (process context);
//! `instance_run` allocates nothing and may run in softirq context. One
//! instance must not be run by two CPUs at once.

use crate::text::BufWriter;
use alloc::boxed::Box;
use core::ffi::c_void;
use core::fmt::Write;
use core::{ptr, slice};
use wasmnf_engine::{
    abi, Ctx, Family, Filter, FilterConfig, FilterOptions, Hook, Instance, Limits, OnError,
    PacketView, Status, TrapKind, Verdict,
};

/// The filter ABI version this engine implements.
#[no_mangle]
pub extern "C" fn wasmnf_engine_abi_version() -> u32 {
    abi::ABI_VERSION
}

/// A byte range owned by the engine object (static data).
#[repr(C)]
pub struct WasmnfBytes {
    /// First byte (null when `len` is 0).
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

static SELFTEST_DROP_UDP_8080: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/drop_udp_8080.wasm"));
static SELFTEST_SPIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spin.wasm"));
static SELFTEST_HOSTCALLS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hostcalls.wasm"));
static SELFTEST_UNSUPPORTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/unsupported.wasm"));

/// The built-in self-test filters: 0 = `drop_udp_8080`, 1 = `spin` (never
/// returns), 2 = `hostcalls` (every host function, 40 Wasm calls deep),
/// 3 = `unsupported` (valid Wasm outside the fast tier: refused at load).
/// Any other index gives an empty range.
#[no_mangle]
pub extern "C" fn wasmnf_engine_selftest_wasm(which: u32) -> WasmnfBytes {
    let bytes: &[u8] = match which {
        0 => SELFTEST_DROP_UDP_8080,
        1 => SELFTEST_SPIN,
        2 => SELFTEST_HOSTCALLS,
        3 => SELFTEST_UNSUPPORTED,
        _ => &[],
    };
    WasmnfBytes {
        ptr: if bytes.is_empty() {
            ptr::null()
        } else {
            bytes.as_ptr()
        },
        len: bytes.len(),
    }
}

/// A packet as the module sees it: `linear_len` bytes readable in place at
/// `linear`, `len` bytes in all; bytes past the linear part are copied by
/// `read(read_ctx, offset, dst, n)`, which returns false if the range is not
/// in the packet. `read` may be null when the whole packet is linear.
#[repr(C)]
pub struct WasmnfPacket {
    /// The linear part.
    pub linear: *const u8,
    /// Length of the linear part.
    pub linear_len: usize,
    /// Total length (at least `linear_len`).
    pub len: usize,
    /// Copies non-linear bytes.
    pub read: Option<unsafe extern "C" fn(*const c_void, usize, *mut u8, usize) -> bool>,
    /// First argument of `read`.
    pub read_ctx: *const c_void,
}

/// The hook context of one packet (`Ctx` in the engine).
#[repr(C)]
pub struct WasmnfCtx {
    /// `NF_INET_*` hook number.
    pub hook: u32,
    /// `NFPROTO_*` family.
    pub family: u32,
    /// Input interface index.
    pub iif: u32,
    /// Output interface index.
    pub oif: u32,
    /// Packet mark.
    pub mark: u32,
    /// Monotonic time in nanoseconds.
    pub tstamp_ns: u64,
}

/// `WasmnfRunResult::verdict` values (the ABI's).
pub const VERDICT_DROP: u32 = 0;
/// Accept.
pub const VERDICT_ACCEPT: u32 = 1;
/// `WasmnfRunResult::status`: the filter returned a verdict.
pub const STATUS_OK: u32 = 0;
/// The filter trapped; `detail` is the trap kind (see [`trap_code`]).
pub const STATUS_TRAP: u32 = 1;
/// The filter ran out of fuel.
pub const STATUS_OUT_OF_FUEL: u32 = 2;
/// The filter returned a value that is not a verdict; `detail` is it.
pub const STATUS_INVALID_VERDICT: u32 = 3;

/// The outcome of one run.
#[repr(C)]
#[derive(Default)]
pub struct WasmnfRunResult {
    /// `VERDICT_*`, after the failure policy.
    pub verdict: u32,
    /// `STATUS_*`.
    pub status: u32,
    /// Trap kind or invalid verdict value.
    pub detail: i32,
}

/// A stable number for each trap kind.
pub fn trap_code(kind: TrapKind) -> i32 {
    match kind {
        TrapKind::Unreachable => 1,
        TrapKind::MemoryOutOfBounds => 2,
        TrapKind::StackOverflow => 3,
        TrapKind::Arithmetic => 4,
        TrapKind::Table => 5,
        TrapKind::PacketOutOfBounds => 6,
        TrapKind::BadHostCall => 7,
        TrapKind::HostMemoryOutOfBounds => 8,
        TrapKind::Other => 9,
    }
}

fn trap_kind(code: i32) -> TrapKind {
    match code {
        1 => TrapKind::Unreachable,
        2 => TrapKind::MemoryOutOfBounds,
        3 => TrapKind::StackOverflow,
        4 => TrapKind::Arithmetic,
        5 => TrapKind::Table,
        6 => TrapKind::PacketOutOfBounds,
        7 => TrapKind::BadHostCall,
        8 => TrapKind::HostMemoryOutOfBounds,
        _ => TrapKind::Other,
    }
}

/// Writes `args` into the caller's buffer (when given) and stores the length.
///
/// # Safety
///
/// `buf` is null or valid for `cap` bytes of writes; `out_len` is null or
/// valid for a write.
unsafe fn write_message(
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
    args: core::fmt::Arguments<'_>,
) {
    let mut n = 0;
    if !buf.is_null() && cap > 0 {
        // SAFETY: non-null `buf` is valid for `cap` bytes (caller's contract).
        let dst = unsafe { slice::from_raw_parts_mut(buf, cap) };
        let mut w = BufWriter::new(dst);
        let _ = w.write_fmt(args);
        n = w.len();
    }
    if !out_len.is_null() {
        // SAFETY: non-null `out_len` is valid for a write (caller's contract).
        unsafe { out_len.write(n) };
    }
}

/// How a filter is loaded (`FilterOptions` in the engine).
#[repr(C)]
pub struct WasmnfLoadOptions {
    /// Fuel per packet; 0 = the default.
    pub fuel: u64,
    /// Linear memory limit in pages; 0 = the default.
    pub memory_pages: u32,
    /// Failure policy: drop (true) or accept (false).
    pub fail_closed: bool,
    /// The configuration in its wire form (`key=value` lines); may be null
    /// when `config_len` is 0.
    pub config: *const u8,
    /// Length of `config`.
    pub config_len: usize,
}

/// Checks and compiles a filter. `fuel` is the per-packet budget (0 = the
/// default); `fail_closed` selects the failure policy (drop instead of
/// accept). Returns null on refusal, with the reason in `err` (UTF-8,
/// `*err_len` bytes, truncated to `err_cap`). Same as
/// [`wasmnf_engine_filter_new_opts`] with the default memory limit and an
/// empty configuration.
///
/// # Safety
///
/// `wasm` is valid for `wasm_len` bytes of reads; `err` is null or valid for
/// `err_cap` bytes of writes; `err_len` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_filter_new(
    wasm: *const u8,
    wasm_len: usize,
    fuel: u64,
    fail_closed: bool,
    err: *mut u8,
    err_cap: usize,
    err_len: *mut usize,
) -> *mut Filter {
    let opts = WasmnfLoadOptions {
        fuel,
        memory_pages: 0,
        fail_closed,
        config: ptr::null(),
        config_len: 0,
    };
    // SAFETY: forwarded caller's contract; `opts` is valid and has no config.
    unsafe { wasmnf_engine_filter_new_opts(wasm, wasm_len, &opts, err, err_cap, err_len) }
}

/// Checks and compiles a filter with the given options (limits, failure
/// policy, configuration). Returns null on refusal, with the reason in `err`
/// as for [`wasmnf_engine_filter_new`]: out-of-range options, a bad
/// configuration and modules that fail the ABI check or compilation are all
/// refused here, never trusted.
///
/// # Safety
///
/// `wasm` is valid for `wasm_len` bytes of reads; `opts` is null or valid for
/// reads, and its `config` valid for `config_len` bytes of reads when
/// non-null; `err`/`err_len` as for [`wasmnf_engine_filter_new`].
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_filter_new_opts(
    wasm: *const u8,
    wasm_len: usize,
    opts: *const WasmnfLoadOptions,
    err: *mut u8,
    err_cap: usize,
    err_len: *mut usize,
) -> *mut Filter {
    // SAFETY: null or valid for reads (caller's contract).
    let (Some(opts), false) = (unsafe { opts.as_ref() }, wasm.is_null()) else {
        // SAFETY: forwarded caller's contract on `err`/`err_len`.
        unsafe { write_message(err, err_cap, err_len, format_args!("no module bytes")) };
        return ptr::null_mut();
    };
    // SAFETY: `wasm` is non-null and valid for `wasm_len` bytes (caller).
    let bytes = unsafe { slice::from_raw_parts(wasm, wasm_len) };
    let config_bytes: &[u8] = if opts.config.is_null() || opts.config_len == 0 {
        &[]
    } else {
        // SAFETY: non-null `config` is valid for `config_len` bytes (caller).
        unsafe { slice::from_raw_parts(opts.config, opts.config_len) }
    };
    let config = match FilterConfig::decode(config_bytes) {
        Ok(config) => config,
        Err(e) => {
            // SAFETY: as above.
            unsafe { write_message(err, err_cap, err_len, format_args!("configuration: {e}")) };
            return ptr::null_mut();
        }
    };
    let defaults = Limits::default();
    let limits = Limits {
        fuel: if opts.fuel == 0 {
            defaults.fuel
        } else {
            opts.fuel
        },
        max_memory_pages: if opts.memory_pages == 0 {
            defaults.max_memory_pages
        } else {
            opts.memory_pages
        },
        ..defaults
    };
    let options = FilterOptions {
        limits,
        on_error: if opts.fail_closed {
            OnError::Drop
        } else {
            OnError::Accept
        },
        config,
        ..FilterOptions::default()
    };
    match Filter::new(bytes, options) {
        Ok(filter) => {
            // SAFETY: as above.
            unsafe { write_message(err, err_cap, err_len, format_args!("")) };
            Box::into_raw(Box::new(filter))
        }
        Err(e) => {
            // SAFETY: as above.
            unsafe { write_message(err, err_cap, err_len, format_args!("{e}")) };
            ptr::null_mut()
        }
    }
}

/// Whether runs of `filter` can see the packet's timestamp (`ctx` field
/// `tstamp_ns` or the window's timestamp). When false the module need not
/// read its clock for the context (the value passed is never seen). Null
/// gives true.
///
/// # Safety
///
/// `filter` is null or a live filter.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_filter_reads_timestamp(filter: *const Filter) -> bool {
    // SAFETY: null or a live filter (caller's contract).
    unsafe { filter.as_ref() }.is_none_or(Filter::reads_timestamp)
}

/// Frees a filter (null is ignored). Instances made from it stay valid.
///
/// # Safety
///
/// `filter` is null or came from `wasmnf_engine_filter_new` and is not used
/// again.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_filter_free(filter: *mut Filter) {
    if !filter.is_null() {
        // SAFETY: it came from `Box::into_raw` and is given up by the caller.
        drop(unsafe { Box::from_raw(filter) });
    }
}

/// Creates an instance (compiles, allocates memory, runs `init`). Returns
/// null on failure, with the reason in `err` as for `filter_new`.
///
/// # Safety
///
/// `filter` is null or a live filter; `err`/`err_len` as for `filter_new`.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_instance_new(
    filter: *const Filter,
    err: *mut u8,
    err_cap: usize,
    err_len: *mut usize,
) -> *mut Instance {
    // SAFETY: null or a live filter (caller's contract).
    let Some(filter) = (unsafe { filter.as_ref() }) else {
        // SAFETY: forwarded caller's contract.
        unsafe { write_message(err, err_cap, err_len, format_args!("no filter")) };
        return ptr::null_mut();
    };
    match filter.instantiate() {
        Ok(inst) => {
            // SAFETY: forwarded caller's contract.
            unsafe { write_message(err, err_cap, err_len, format_args!("")) };
            Box::into_raw(Box::new(inst))
        }
        Err(e) => {
            // SAFETY: forwarded caller's contract.
            unsafe { write_message(err, err_cap, err_len, format_args!("{e}")) };
            ptr::null_mut()
        }
    }
}

/// Frees an instance (null is ignored).
///
/// # Safety
///
/// `inst` is null or came from `wasmnf_engine_instance_new`, is not running
/// and is not used again.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_instance_free(inst: *mut Instance) {
    if !inst.is_null() {
        // SAFETY: it came from `Box::into_raw` and is given up by the caller.
        drop(unsafe { Box::from_raw(inst) });
    }
}

struct FfiPacket<'a> {
    linear: &'a [u8],
    len: usize,
    read: Option<unsafe extern "C" fn(*const c_void, usize, *mut u8, usize) -> bool>,
    read_ctx: *const c_void,
}

impl PacketView for FfiPacket<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn linear(&self) -> &[u8] {
        self.linear
    }

    fn read(&self, offset: usize, dst: &mut [u8]) -> bool {
        match self.read {
            // SAFETY: the module's `read` callback copies at most `dst.len()`
            // bytes into `dst`, which is valid for that many writes; its
            // context pointer is the one the module supplied with it.
            Some(read) => unsafe { read(self.read_ctx, offset, dst.as_mut_ptr(), dst.len()) },
            None => false,
        }
    }
}

/// Runs the instance's filter on one packet and returns the result (by
/// value: 12 bytes, returned in registers). Allocates nothing, never
/// sleeps. On a null argument the result is a trap (`BadHostCall`) with an
/// accept verdict.
///
/// # Safety
///
/// `inst` is a live instance not being run elsewhere; `pkt` and `ctx` are
/// valid for reads; `pkt.linear` is valid for `pkt.linear_len` bytes and,
/// with `pkt.read`, describes a packet that does not change during the run.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_instance_run(
    inst: *mut Instance,
    pkt: *const WasmnfPacket,
    ctx: *const WasmnfCtx,
) -> WasmnfRunResult {
    // SAFETY: each pointer is null or valid (caller's contract); `inst` is
    // not aliased while this call runs.
    let (inst, pkt, ctx) = unsafe { (inst.as_mut(), pkt.as_ref(), ctx.as_ref()) };
    match (inst, pkt, ctx) {
        (Some(inst), Some(pkt), Some(ctx)) => {
            let linear: &[u8] = if pkt.linear.is_null() || pkt.linear_len == 0 {
                &[]
            } else {
                // SAFETY: `linear` is valid for `linear_len` bytes and does
                // not change during the run (caller's contract).
                unsafe { slice::from_raw_parts(pkt.linear, pkt.linear_len) }
            };
            let view = FfiPacket {
                linear,
                len: pkt.len.max(linear.len()),
                read: pkt.read,
                read_ctx: pkt.read_ctx,
            };
            let ctx = Ctx {
                hook: Hook::from_u32(ctx.hook).unwrap_or_default(),
                family: Family::from_u32(ctx.family).unwrap_or_default(),
                iif: ctx.iif,
                oif: ctx.oif,
                mark: ctx.mark,
                tstamp_ns: ctx.tstamp_ns,
            };
            let r = inst.run_detailed(&view, &ctx);
            let (status, detail) = match r.status {
                Status::Ok => (STATUS_OK, 0),
                Status::Trap(kind) => (STATUS_TRAP, trap_code(kind)),
                Status::OutOfFuel => (STATUS_OUT_OF_FUEL, 0),
                Status::InvalidVerdict(v) => (STATUS_INVALID_VERDICT, v),
            };
            let verdict = match r.verdict {
                Verdict::Accept => VERDICT_ACCEPT,
                Verdict::Drop => VERDICT_DROP,
            };
            WasmnfRunResult {
                verdict,
                status,
                detail,
            }
        }
        _ => WasmnfRunResult {
            verdict: VERDICT_ACCEPT,
            status: STATUS_TRAP,
            detail: trap_code(TrapKind::BadHostCall),
        },
    }
}

/// Describes a run's status in words (`ok`, `trap: ...`, `out of fuel`)
/// into `buf`; returns the number of bytes written.
///
/// # Safety
///
/// `result` is null or valid for reads; `buf` is null or valid for `cap`
/// bytes of writes.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_describe_status(
    result: *const WasmnfRunResult,
    buf: *mut u8,
    cap: usize,
) -> usize {
    // SAFETY: null or valid for reads (caller's contract).
    let Some(r) = (unsafe { result.as_ref() }) else {
        return 0;
    };
    let status = match r.status {
        STATUS_OK => Status::Ok,
        STATUS_TRAP => Status::Trap(trap_kind(r.detail)),
        STATUS_OUT_OF_FUEL => Status::OutOfFuel,
        _ => Status::InvalidVerdict(r.detail),
    };
    let mut n = 0;
    // SAFETY: `buf` null or valid for `cap` bytes (caller's contract).
    unsafe { write_message(buf, cap, &mut n, format_args!("{status}")) };
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP_8080: [u8; 28] = [
        0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x1f,
        0x90, 0, 8, 0, 0,
    ];

    fn new_filter(wasm: &[u8], fuel: u64) -> Result<*mut Filter, std::string::String> {
        let mut err = [0u8; 160];
        let mut len = 0usize;
        // SAFETY: valid slices and out-pointer.
        let f = unsafe {
            wasmnf_engine_filter_new(
                wasm.as_ptr(),
                wasm.len(),
                fuel,
                false,
                err.as_mut_ptr(),
                err.len(),
                &mut len,
            )
        };
        if f.is_null() {
            Err(std::string::String::from_utf8_lossy(&err[..len]).into_owned())
        } else {
            Ok(f)
        }
    }

    fn run(inst: *mut Instance, pkt: &[u8]) -> WasmnfRunResult {
        let p = WasmnfPacket {
            linear: pkt.as_ptr(),
            linear_len: pkt.len(),
            len: pkt.len(),
            read: None,
            read_ctx: ptr::null(),
        };
        let ctx = WasmnfCtx {
            hook: 0,
            family: 2,
            iif: 0,
            oif: 0,
            mark: 0,
            tstamp_ns: 0,
        };
        // SAFETY: live instance, valid packet and context.
        unsafe { wasmnf_engine_instance_run(inst, &p, &ctx) }
    }

    fn describe(r: &WasmnfRunResult) -> std::string::String {
        let mut buf = [0u8; 96];
        // SAFETY: valid result and buffer.
        let n = unsafe { wasmnf_engine_describe_status(r, buf.as_mut_ptr(), buf.len()) };
        std::string::String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// The engine object has one tier: the self-test filters run on it, and
    /// a valid module outside it is refused by name, never run elsewhere.
    #[test]
    fn selftest_filters_run_on_the_fast_tier_and_the_rest_is_refused() {
        for wasm in [SELFTEST_DROP_UDP_8080, SELFTEST_SPIN, SELFTEST_HOSTCALLS] {
            let f = new_filter(wasm, 0).unwrap();
            // SAFETY: live filter, freed below.
            unsafe {
                assert_eq!((*f).tier(), wasmnf_engine::Tier::Fast);
                wasmnf_engine_filter_free(f);
            }
        }
        let err = new_filter(SELFTEST_UNSUPPORTED, 0).unwrap_err();
        assert!(err.contains("the engine does not run"), "{err}");
    }

    /// Runs `check` on an instance of `wasm` with `fuel` per packet (0: the
    /// default), then frees the instance and its filter.
    fn with_instance(wasm: &[u8], fuel: u64, check: impl FnOnce(*mut Instance)) {
        let f = new_filter(wasm, fuel).unwrap();
        // SAFETY: live filter.
        let inst = unsafe { wasmnf_engine_instance_new(f, ptr::null_mut(), 0, ptr::null_mut()) };
        assert!(!inst.is_null());
        check(inst);
        // SAFETY: live objects, not used again.
        unsafe {
            wasmnf_engine_instance_free(inst);
            wasmnf_engine_filter_free(f);
        }
    }

    #[test]
    fn selftest_filters_give_the_verdicts_the_module_expects() {
        with_instance(SELFTEST_DROP_UDP_8080, 0, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!((r.verdict, r.status), (VERDICT_DROP, STATUS_OK));
            let mut udp53 = UDP_8080;
            udp53[22..24].copy_from_slice(&53u16.to_be_bytes());
            let r = run(inst, &udp53);
            assert_eq!((r.verdict, r.status), (VERDICT_ACCEPT, STATUS_OK));
            let r = run(inst, &UDP_8080[..3]);
            assert_eq!((r.verdict, r.status), (VERDICT_ACCEPT, STATUS_TRAP));
            assert_eq!(describe(&r), "trap: packet read out of bounds");
        });

        with_instance(SELFTEST_HOSTCALLS, 0, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!(
                (r.verdict, r.status),
                (VERDICT_ACCEPT, STATUS_OK),
                "{}",
                describe(&r)
            );
        });
        with_instance(SELFTEST_SPIN, 1000, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!((r.verdict, r.status), (VERDICT_ACCEPT, STATUS_OUT_OF_FUEL));
            assert_eq!(describe(&r), "out of fuel");
        });
    }

    /// The module reads its clock per packet only for filters that can see
    /// the timestamp: `hostcalls` calls `ctx`, `drop_udp_8080` cannot; a
    /// null filter answers true.
    #[test]
    fn timestamp_readers() {
        for (wasm, expected) in [
            (SELFTEST_DROP_UDP_8080, false),
            (SELFTEST_HOSTCALLS, true),
            (SELFTEST_SPIN, false),
        ] {
            let f = new_filter(wasm, 0).unwrap();
            // SAFETY: live filter, freed right after.
            unsafe {
                assert_eq!(wasmnf_engine_filter_reads_timestamp(f), expected);
                wasmnf_engine_filter_free(f);
            }
        }
        // SAFETY: null is allowed.
        assert!(unsafe { wasmnf_engine_filter_reads_timestamp(ptr::null()) });
    }

    #[test]
    fn refusals_are_messages_not_panics() {
        let err = new_filter(b"not wasm at all", 0).unwrap_err();
        assert!(!err.is_empty());
        // SAFETY: null pointers are allowed and reported.
        let f = unsafe {
            wasmnf_engine_filter_new(
                ptr::null(),
                0,
                0,
                false,
                ptr::null_mut(),
                0,
                ptr::null_mut(),
            )
        };
        assert!(f.is_null());
        // SAFETY: as above.
        let i =
            unsafe { wasmnf_engine_instance_new(ptr::null(), ptr::null_mut(), 0, ptr::null_mut()) };
        assert!(i.is_null());
        let r = run(ptr::null_mut(), &UDP_8080);
        assert_eq!((r.verdict, r.status), (VERDICT_ACCEPT, STATUS_TRAP));
        assert_eq!(wasmnf_engine_selftest_wasm(7).len, 0);
    }
}
