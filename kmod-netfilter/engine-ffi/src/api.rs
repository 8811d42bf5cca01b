//! The C ABI the kernel module calls. Handles are boxed engine objects;
//! every function checks its pointers for null and never panics on input.
//!
//! Contexts: `filter_new`, `instance_new` and the `_free` functions
//! allocate or free and are meant for load/unload time (process context);
//! `instance_run` allocates nothing and may run in softirq context. An
//! instance runs one packet at a time: a run that finds it running (two
//! CPUs, or a nested call) is refused with a trap, never let in, so the
//! module's handle may be shared between CPUs safely.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use core::{ptr, slice};
use wasmnf_common::ffi::{
    refusal, Bytes, Ctx as RawCtx, LoadOptions, MapInfo, Packet, ReadFn, Refusal, RunResult,
};
use wasmnf_common::maps::ret;
use wasmnf_engine::{
    abi, Cpus, Ctx, Family, Filter, FilterConfig, FilterOptions, GracePeriod, Hook, Instance,
    Limits, LoadError, Map, Maps, OnError, PacketView, TrapKind,
};

/// The filter ABI version this engine implements.
#[no_mangle]
pub extern "C" fn wasmnf_engine_abi_version() -> u32 {
    abi::ABI_VERSION
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
pub extern "C" fn wasmnf_engine_selftest_wasm(which: u32) -> Bytes {
    let bytes: &[u8] = match which {
        0 => SELFTEST_DROP_UDP_8080,
        1 => SELFTEST_SPIN,
        2 => SELFTEST_HOSTCALLS,
        3 => SELFTEST_UNSUPPORTED,
        _ => &[],
    };
    Bytes {
        ptr: if bytes.is_empty() {
            ptr::null()
        } else {
            bytes.as_ptr()
        },
        len: bytes.len(),
    }
}

/// Stores a refusal (when the caller gave room for one).
///
/// # Safety
///
/// `out` is null or valid for a write.
unsafe fn refuse(out: *mut Refusal, code: u32, args: core::fmt::Arguments<'_>) {
    // SAFETY: null or valid for a write (caller's contract).
    if let Some(out) = unsafe { out.as_mut() } {
        out.set(code, args);
    }
}

/// Stores an engine refusal with its class.
///
/// # Safety
///
/// As [`refuse`].
unsafe fn refuse_with(out: *mut Refusal, e: &LoadError) {
    // SAFETY: forwarded caller's contract.
    unsafe { refuse(out, e.code(), format_args!("{e}")) }
}

/// A new reference to the maps behind a share, or `None` for null.
///
/// # Safety
///
/// `p` is null or a live share from [`wasmnf_engine_maps_share`].
unsafe fn shared_clone(p: *const c_void) -> Option<Arc<Maps>> {
    let p = p.cast::<Maps>();
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` came from `Arc::into_raw` and its reference is live
    // (caller's contract): one more reference, then an owned `Arc` of it.
    unsafe {
        Arc::increment_strong_count(p);
        Some(Arc::from_raw(p))
    }
}

/// A reference to `filter`'s maps that outlives it, for a filter that
/// replaces it (`LoadOptions::keep_maps`); null for a null filter.
/// Allocates nothing (one atomic increment), so it may be taken inside an
/// RCU read-side section. Release it with [`wasmnf_engine_maps_release`].
///
/// # Safety
///
/// `filter` is null or a live filter.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_maps_share(filter: *const Filter) -> *const c_void {
    // SAFETY: null or live (caller's contract).
    match unsafe { filter.as_ref() } {
        Some(f) => Arc::into_raw(f.shared_maps()).cast(),
        None => ptr::null(),
    }
}

/// Releases a share (null is ignored); the maps go when nothing else holds
/// them.
///
/// # Safety
///
/// `shared` is null or a live share, not used again.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_maps_release(shared: *const c_void) {
    if !shared.is_null() {
        // SAFETY: it came from `Arc::into_raw` (caller's contract).
        drop(unsafe { Arc::from_raw(shared.cast::<Maps>()) });
    }
}

/// How many of `filter`'s maps it shares with the maps behind `shared`
/// (kept over a replace).
///
/// # Safety
///
/// `filter` is null or a live filter; `shared` null or a live share.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_maps_kept(
    filter: *const Filter,
    shared: *const c_void,
) -> u32 {
    // SAFETY: forwarded caller's contracts.
    let (Some(f), Some(old)) = (unsafe { filter.as_ref() }, unsafe { shared_clone(shared) }) else {
        return 0;
    };
    f.maps().kept_from(&old).count() as u32
}

/// Checks and compiles a filter with the given options (limits, failure
/// policy, configuration). Returns null on refusal, with its class and
/// message in `*refusal`: out-of-range options, a bad configuration and
/// modules that fail the ABI check or translation are all refused here,
/// never trusted. Runs of its instances are not counted here
/// ([`wasmnf_engine_instance_run`]): the module counts them per CPU.
///
/// # Safety
///
/// `wasm` is valid for `wasm_len` bytes of reads; `opts` is null or valid for
/// reads, and its `config` valid for `config_len` bytes of reads when
/// non-null; `refusal` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_filter_new(
    wasm: *const u8,
    wasm_len: usize,
    opts: *const LoadOptions,
    refusal: *mut Refusal,
) -> *mut Filter {
    // SAFETY: null or valid for reads (caller's contract).
    let (Some(opts), false) = (unsafe { opts.as_ref() }, wasm.is_null()) else {
        // SAFETY: forwarded caller's contract on `refusal`.
        unsafe { refuse(refusal, refusal::INVALID, format_args!("no module bytes")) };
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
            unsafe { refuse_with(refusal, &LoadError::Config(e)) };
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
        max_map_memory: if opts.map_memory == 0 {
            defaults.max_map_memory
        } else {
            opts.map_memory
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
        cpus: opts.cpus.max(1) as usize,
        seed: opts.seed,
        // SAFETY: null or a live share (caller's contract); the clone is
        // the filter's own reference, dropped once its maps are made.
        keep_maps: unsafe { shared_clone(opts.keep_maps) },
        ..FilterOptions::default()
    };
    match Filter::new(bytes, options) {
        Ok(filter) => Box::into_raw(Box::new(filter)),
        Err(e) => {
            // SAFETY: as above.
            unsafe { refuse_with(refusal, &e) };
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

/// Creates the instance for CPU `cpu` (allocates memory, runs `init`); its
/// per-CPU map values are that CPU's row, so it must run only there.
/// Returns null on failure, with the reason in `*refusal` as for
/// `filter_new`.
///
/// # Safety
///
/// `filter` is null or a live filter; `refusal` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_instance_new(
    filter: *const Filter,
    cpu: u32,
    refusal: *mut Refusal,
) -> *mut FfiInstance {
    // SAFETY: null or a live filter (caller's contract).
    let Some(filter) = (unsafe { filter.as_ref() }) else {
        // SAFETY: forwarded caller's contract.
        unsafe { refuse(refusal, refusal::INVALID, format_args!("no filter")) };
        return ptr::null_mut();
    };
    match filter.instantiate_on(cpu as usize) {
        Ok(inst) => Box::into_raw(Box::new(FfiInstance::new(inst))),
        Err(e) => {
            // SAFETY: forwarded caller's contract.
            unsafe { refuse_with(refusal, &e) };
            ptr::null_mut()
        }
    }
}

// ---- maps, for the host ----------------------------------------------------
//
// A filter's maps are shared by all its instances and live as long as the
// filter or any instance. Every call below is bounded (one map operation,
// or one scan step) and allocates nothing. Reads may run anywhere; the
// module makes writes with bottom halves off (a packet-path writer on the
// same CPU could otherwise spin on a lock the interrupted writer holds).
// Sizes are checked here: a wrong one is `EINVAL`, never a panic.

/// The map `id` of a live filter.
///
/// # Safety
///
/// `filter` is null or a live filter.
unsafe fn map_of<'a>(filter: *const Filter, id: u32) -> Option<&'a Map> {
    // SAFETY: null or live (caller's contract), alive for the call.
    unsafe { filter.as_ref() }?.maps().get(id)
}

/// `len` bytes at `p`, or `None` for a null pointer with a length.
///
/// # Safety
///
/// `p` is null or valid for `len` bytes of reads for `'a`.
unsafe fn bytes_in<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: non-null `p` is valid for `len` bytes (caller's contract).
    (!p.is_null()).then(|| unsafe { slice::from_raw_parts(p, len) })
}

/// As [`bytes_in`], for writes.
///
/// # Safety
///
/// `p` is null or valid for `len` bytes of writes for `'a`, unaliased.
unsafe fn bytes_out<'a>(p: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    // SAFETY: non-null `p` is valid for `len` bytes of writes (caller).
    (!p.is_null()).then(|| unsafe { slice::from_raw_parts_mut(p, len) })
}

/// How many maps `filter` declares (null: 0).
///
/// # Safety
///
/// `filter` is null or a live filter.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_count(filter: *const Filter) -> u32 {
    // SAFETY: null or live (caller's contract).
    unsafe { filter.as_ref() }.map_or(0, |f| f.maps().iter().count() as u32)
}

/// Describes map `id` into `*out`; false if there is no such map.
///
/// # Safety
///
/// `filter` is null or a live filter; `out` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_info(
    filter: *const Filter,
    id: u32,
    out: *mut MapInfo,
) -> bool {
    // SAFETY: forwarded caller's contracts.
    let (Some(map), Some(out), Some(f)) = (
        unsafe { map_of(filter, id) },
        unsafe { out.as_mut() },
        unsafe { filter.as_ref() },
    ) else {
        return false;
    };
    *out = MapInfo {
        decl: map.decl().encode(),
        bytes: Map::bytes(map.decl(), f.options().cpus.max(1)),
        entries: map.len(),
        rows: map.rows() as u32,
    };
    true
}

/// The id of the map named by the `len` bytes at `name`, or `ENOENT`.
///
/// # Safety
///
/// `filter` is null or a live filter; `name` is null or valid for `len`
/// bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_find(
    filter: *const Filter,
    name: *const u8,
    len: usize,
) -> i32 {
    // SAFETY: forwarded caller's contracts.
    let (Some(f), Some(name)) = (unsafe { filter.as_ref() }, unsafe { bytes_in(name, len) }) else {
        return ret::ENOENT;
    };
    let Ok(name) = core::str::from_utf8(name) else {
        return ret::ENOENT;
    };
    f.maps()
        .by_name(name)
        .map_or(ret::ENOENT, |m| m.decl().id as i32)
}

/// Whether `key` and `value` have map `map`'s sizes: the key exactly
/// `key_size`, the value `value_size` times `rows` (1 for writes).
fn sizes_ok(map: &Map, key: &[u8], value: Option<(&[u8], usize)>) -> bool {
    let d = map.decl();
    key.len() == d.key_size as usize
        && value.is_none_or(|(v, rows)| v.len() == d.value_size as usize * rows)
}

/// Copies the value of `key` into `value` (`value_size` bytes per row,
/// every row: [`MapInfo::rows`]): `0`, `ENOENT`, or `EINVAL` for a wrong
/// size or map.
///
/// # Safety
///
/// `filter` is null or a live filter; `key` is null or valid for
/// `key_len` bytes of reads, `value` null or valid for `value_len` bytes
/// of writes.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_lookup(
    filter: *const Filter,
    id: u32,
    key: *const u8,
    key_len: usize,
    value: *mut u8,
    value_len: usize,
) -> i32 {
    // SAFETY: forwarded caller's contracts.
    let parts = unsafe {
        (
            map_of(filter, id),
            bytes_in(key, key_len),
            bytes_out(value, value_len),
        )
    };
    let (Some(map), Some(key), Some(value)) = parts else {
        return ret::EINVAL;
    };
    if !sizes_ok(map, key, Some((value, map.rows()))) {
        return ret::EINVAL;
    }
    if map.lookup_rows(key, value) {
        ret::OK
    } else {
        ret::ENOENT
    }
}

/// Inserts or replaces `key` with `value` (`value_size` bytes: every row
/// of a per-CPU map gets it) under update `flags`: `0` or a negative errno
/// ([`ret`], as the filter's `map_update`).
///
/// # Safety
///
/// `filter` is null or a live filter; `key`/`value` are null or valid for
/// their lengths of reads.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_update(
    filter: *const Filter,
    id: u32,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    flags: i32,
) -> i32 {
    // SAFETY: forwarded caller's contracts.
    let parts = unsafe {
        (
            map_of(filter, id),
            bytes_in(key, key_len),
            bytes_in(value, value_len),
        )
    };
    let (Some(map), Some(key), Some(value)) = parts else {
        return ret::EINVAL;
    };
    if !sizes_ok(map, key, Some((value, 1))) {
        return ret::EINVAL;
    }
    map.update(key, value, flags, Cpus::All)
}

/// Deletes `key`: `0`, `ENOENT`, or `EINVAL` (wrong size, or an array).
///
/// # Safety
///
/// `filter` is null or a live filter; `key` null or valid for `key_len`
/// bytes of reads.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_delete(
    filter: *const Filter,
    id: u32,
    key: *const u8,
    key_len: usize,
) -> i32 {
    // SAFETY: forwarded caller's contracts.
    let parts = unsafe { (map_of(filter, id), bytes_in(key, key_len)) };
    let (Some(map), Some(key)) = parts else {
        return ret::EINVAL;
    };
    if !sizes_ok(map, key, None) {
        return ret::EINVAL;
    }
    map.delete(key)
}

/// Removes every entry of map `id` (an array: zeroes it): `0` or `EINVAL`.
/// One bounded pass over the map.
///
/// # Safety
///
/// `filter` is null or a live filter.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_clear(filter: *const Filter, id: u32) -> i32 {
    // SAFETY: forwarded caller's contract.
    match unsafe { map_of(filter, id) } {
        Some(map) => {
            map.clear();
            ret::OK
        }
        None => ret::EINVAL,
    }
}

/// One step of a scan of map `id` ([`Map::next_entry`]): copies the first
/// entry at `cursor` or after into `key`/`value` (sizes as for lookup) and
/// stores the cursor to continue from in `*next`: `0`, `ENOENT` at the
/// end, `EINVAL` for a wrong size or map. In the kernel, call it inside an
/// RCU read-side section.
///
/// # Safety
///
/// `filter` is null or a live filter; `key`/`value` null or valid for
/// their lengths of writes; `next` null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_map_next(
    filter: *const Filter,
    id: u32,
    cursor: u64,
    key: *mut u8,
    key_len: usize,
    value: *mut u8,
    value_len: usize,
    next: *mut u64,
) -> i32 {
    // SAFETY: forwarded caller's contracts.
    let parts = unsafe {
        (
            map_of(filter, id),
            bytes_out(key, key_len),
            bytes_out(value, value_len),
            next.as_mut(),
        )
    };
    let (Some(map), Some(key), Some(value), Some(next)) = parts else {
        return ret::EINVAL;
    };
    if !sizes_ok(map, key, Some((value, map.rows()))) {
        return ret::EINVAL;
    }
    match map.next_entry(cursor, key, value) {
        Some(n) => {
            *next = n;
            ret::OK
        }
        None => ret::ENOENT,
    }
}

/// Lets the filter's tries reuse the nodes deletes unlinked.
///
/// # Safety
///
/// `filter` is null or a live filter, and a grace period has passed since
/// the last delete of its maps: no map read that started before it is
/// still running (in the kernel: `synchronize_rcu()` returned after the
/// delete, filter runs and scans being RCU readers).
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_maps_reclaim(filter: *const Filter) {
    // SAFETY: null or live (caller's contract).
    if let Some(f) = unsafe { filter.as_ref() } {
        f.maps().reclaim(GracePeriod::elapsed());
    }
}

/// An instance as the module holds it: the engine's, and whether a run is
/// in progress.
pub struct FfiInstance {
    /// Set for the duration of a run ([`wasmnf_engine_instance_run`]).
    running: AtomicBool,
    /// Used mutably only by the run that set `running`.
    inst: UnsafeCell<Instance>,
}

impl FfiInstance {
    fn new(inst: Instance) -> FfiInstance {
        FfiInstance {
            running: AtomicBool::new(false),
            inst: UnsafeCell::new(inst),
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
pub unsafe extern "C" fn wasmnf_engine_instance_free(inst: *mut FfiInstance) {
    if !inst.is_null() {
        // SAFETY: it came from `Box::into_raw` and is given up by the caller.
        drop(unsafe { Box::from_raw(inst) });
    }
}

struct FfiPacket<'a> {
    linear: &'a [u8],
    len: usize,
    read: Option<ReadFn>,
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
/// value: 12 bytes, returned in registers), whose verdict is netfilter's.
/// Allocates nothing, never sleeps, counts nothing (the module counts). On
/// a null argument, or an instance already running, the result is a trap
/// (`BadHostCall`) with an accept verdict.
///
/// # Safety
///
/// `inst` is null or a live instance (it may be running elsewhere: that
/// run is refused); `pkt` and `ctx` are null or valid for reads;
/// `pkt.linear` is valid for `pkt.linear_len` bytes and, with `pkt.read`,
/// describes a packet that does not change during the run.
#[no_mangle]
pub unsafe extern "C" fn wasmnf_engine_instance_run(
    inst: *const FfiInstance,
    pkt: *const Packet,
    ctx: *const RawCtx,
) -> RunResult {
    // SAFETY: each pointer is null or valid (caller's contract).
    let (inst, pkt, ctx) = unsafe { (inst.as_ref(), pkt.as_ref(), ctx.as_ref()) };
    match (inst, pkt, ctx) {
        (Some(inst), Some(pkt), Some(ctx)) => {
            // Acquire pairs with the release below: a run sees everything
            // the previous run (on any CPU) wrote.
            if inst.running.swap(true, Ordering::Acquire) {
                return bad_call();
            }
            // SAFETY: `running` was false and is now true: no other run
            // uses the instance until the store below, so this is its only
            // reference.
            let engine = unsafe { &mut *inst.inst.get() };
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
            let result = engine.run_uncounted(&view, &ctx).to_ffi();
            inst.running.store(false, Ordering::Release);
            result
        }
        _ => bad_call(),
    }
}

/// The result of a run the engine refused to start.
fn bad_call() -> RunResult {
    RunResult {
        verdict: wasmnf_common::ffi::verdict::ACCEPT,
        status: wasmnf_common::ffi::status::TRAP,
        detail: TrapKind::BadHostCall.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmnf_common::ffi::{status, verdict};
    use wasmnf_engine::Status;

    const UDP_8080: [u8; 28] = [
        0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x1f,
        0x90, 0, 8, 0, 0,
    ];

    /// A filter, or the refusal's code and message.
    fn new_filter(wasm: &[u8], fuel: u64) -> Result<*mut Filter, (u32, std::string::String)> {
        let opts = LoadOptions {
            fuel,
            memory_pages: 0,
            fail_closed: false,
            config: ptr::null(),
            config_len: 0,
            map_memory: 0,
            seed: 0,
            cpus: 1,
            keep_maps: ptr::null(),
        };
        let mut refusal = Refusal::new();
        // SAFETY: valid slices, options and out-pointer.
        let f = unsafe { wasmnf_engine_filter_new(wasm.as_ptr(), wasm.len(), &opts, &mut refusal) };
        if f.is_null() {
            Err((refusal.code, refusal.message().into()))
        } else {
            Ok(f)
        }
    }

    fn run(inst: *const FfiInstance, pkt: &[u8]) -> RunResult {
        let p = Packet {
            linear: pkt.as_ptr(),
            linear_len: pkt.len(),
            len: pkt.len(),
            read: None,
            read_ctx: ptr::null(),
        };
        let ctx = RawCtx {
            family: 2,
            ..RawCtx::default()
        };
        // SAFETY: live instance, valid packet and context.
        unsafe { wasmnf_engine_instance_run(inst, &p, &ctx) }
    }

    fn describe(r: &RunResult) -> std::string::String {
        std::format!("{}", Status::from_ffi(r.status, r.detail))
    }

    /// The engine object has one tier: the self-test filters run on it, and
    /// a valid module outside it is refused by name and class, never run
    /// elsewhere.
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
        assert_eq!(err.0, refusal::UNSUPPORTED);
        assert!(err.1.contains("the engine does not run"), "{}", err.1);
    }

    /// Runs `check` on an instance of `wasm` with `fuel` per packet (0: the
    /// default), then frees the instance and its filter.
    fn with_instance(wasm: &[u8], fuel: u64, check: impl FnOnce(*mut FfiInstance)) {
        let f = new_filter(wasm, fuel).unwrap();
        // SAFETY: live filter.
        let inst = unsafe { wasmnf_engine_instance_new(f, 0, ptr::null_mut()) };
        assert!(!inst.is_null());
        check(inst);
        // SAFETY: live instances, not used again.
        unsafe {
            let counters = (*(*inst).inst.get()).counters();
            assert_eq!(counters.packets, 0, "the module counts, not the engine");
            wasmnf_engine_instance_free(inst);
            wasmnf_engine_filter_free(f);
        }
    }

    #[test]
    fn selftest_filters_give_the_verdicts_the_module_expects() {
        with_instance(SELFTEST_DROP_UDP_8080, 0, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!((r.verdict, r.status), (verdict::DROP, status::OK));
            let mut udp53 = UDP_8080;
            udp53[22..24].copy_from_slice(&53u16.to_be_bytes());
            let r = run(inst, &udp53);
            assert_eq!((r.verdict, r.status), (verdict::ACCEPT, status::OK));
            let r = run(inst, &UDP_8080[..3]);
            assert_eq!((r.verdict, r.status), (verdict::ACCEPT, status::TRAP));
            assert_eq!(describe(&r), "trap: packet read out of bounds");
        });

        with_instance(SELFTEST_HOSTCALLS, 0, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!(
                (r.verdict, r.status),
                (verdict::ACCEPT, status::OK),
                "{}",
                describe(&r)
            );
        });
        with_instance(SELFTEST_SPIN, 1000, |inst| {
            let r = run(inst, &UDP_8080);
            assert_eq!(
                (r.verdict, r.status),
                (verdict::ACCEPT, status::OUT_OF_FUEL)
            );
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

    /// Each refusal carries its class: a bad module, a host limit, a bad
    /// configuration, a failing `init`.
    #[test]
    fn refusals_carry_a_class_and_a_message() {
        let err = new_filter(b"not wasm at all", 0).unwrap_err();
        assert_eq!(err.0, refusal::INVALID);
        assert!(!err.1.is_empty());
        let err = new_filter(SELFTEST_SPIN, wasmnf_common::limits::FUEL_MAX + 1).unwrap_err();
        assert_eq!(err.0, refusal::LIMIT, "{}", err.1);
        let config = b"no equals sign";
        let opts = LoadOptions {
            fuel: 0,
            memory_pages: 0,
            fail_closed: false,
            config: config.as_ptr(),
            config_len: config.len(),
            map_memory: 0,
            seed: 0,
            cpus: 1,
            keep_maps: ptr::null(),
        };
        let mut r = Refusal::new();
        // SAFETY: valid slices, options and out-pointer.
        let f = unsafe {
            wasmnf_engine_filter_new(SELFTEST_SPIN.as_ptr(), SELFTEST_SPIN.len(), &opts, &mut r)
        };
        assert!(f.is_null());
        assert_eq!(r.code, refusal::CONFIG, "{}", r.message());
        let init_fails = wat::parse_str(
            r#"(module (func (export "filter") (param i32) (result i32) i32.const 1)
                       (func (export "init") (result i32) i32.const 7))"#,
        )
        .unwrap();
        let f = new_filter(&init_fails, 0).unwrap();
        let mut r = Refusal::new();
        // SAFETY: live filter, freed below.
        unsafe {
            assert!(wasmnf_engine_instance_new(f, 0, &mut r).is_null());
            wasmnf_engine_filter_free(f);
        }
        assert_eq!(r.code, refusal::INIT, "{}", r.message());
    }

    #[test]
    fn null_arguments_are_refusals_not_panics() {
        let mut r = Refusal::new();
        // SAFETY: null pointers are allowed and reported.
        let f = unsafe { wasmnf_engine_filter_new(ptr::null(), 0, ptr::null(), &mut r) };
        assert!(f.is_null());
        assert_eq!(r.code, refusal::INVALID);
        // SAFETY: as above.
        let i = unsafe { wasmnf_engine_instance_new(ptr::null(), 0, ptr::null_mut()) };
        assert!(i.is_null());
        let r = run(ptr::null_mut(), &UDP_8080);
        assert_eq!((r.verdict, r.status), (verdict::ACCEPT, status::TRAP));
        assert_eq!(wasmnf_engine_selftest_wasm(7).len, 0);
    }

    /// A filter declaring `decls`: accept-all, with a `wasmnf.maps` section.
    fn with_maps(decls: &[wasmnf_common::maps::Decl]) -> std::vec::Vec<u8> {
        let mut bytes = std::string::String::new();
        for d in decls {
            for b in d.encode() {
                bytes.push_str(&std::format!("\\{b:02x}"));
            }
        }
        wat::parse_str(std::format!(
            r#"(module (func (export "filter") (param i32) (result i32) i32.const 1)
                       (@custom "wasmnf.maps" "{bytes}"))"#
        ))
        .unwrap()
    }

    /// The host's map calls: found by name, described, sizes checked
    /// (a wrong one is `EINVAL`, never a panic), per-CPU rows, a scan that
    /// resumes, delete, clear.
    #[test]
    fn maps_are_reached_by_id_with_checked_sizes() {
        use wasmnf_common::maps::{kind, ty, update, Decl, RECORD_SIZE};
        let wasm = with_maps(&[
            Decl::new(0, "h", kind::HASH, ty::U32, 4, ty::U64, 8, 16),
            Decl::new(1, "p", kind::PERCPU_ARRAY, ty::U32, 4, ty::U32, 4, 4),
        ]);
        let opts = LoadOptions {
            fuel: 0,
            memory_pages: 0,
            fail_closed: false,
            config: ptr::null(),
            config_len: 0,
            map_memory: 0,
            seed: 3,
            cpus: 2,
            keep_maps: ptr::null(),
        };
        let mut refusal = Refusal::new();
        // SAFETY: valid slices, options and out-pointer.
        let f = unsafe { wasmnf_engine_filter_new(wasm.as_ptr(), wasm.len(), &opts, &mut refusal) };
        assert!(!f.is_null(), "{}", refusal.message());
        // SAFETY (every call below): `f` is live until freed at the end;
        // the slices are valid for their lengths.
        unsafe {
            assert_eq!(wasmnf_engine_map_count(f), 2);
            assert_eq!(wasmnf_engine_map_find(f, b"p".as_ptr(), 1), 1);
            assert_eq!(wasmnf_engine_map_find(f, b"x".as_ptr(), 1), ret::ENOENT);
            let mut info = MapInfo {
                decl: [0; RECORD_SIZE],
                bytes: 0,
                entries: 0,
                rows: 0,
            };
            assert!(wasmnf_engine_map_info(f, 1, &mut info));
            assert_eq!(info.rows, 2);
            assert_eq!(Decl::decode(&info.decl).unwrap().name(), "p");
            assert!(!wasmnf_engine_map_info(f, 2, &mut info), "no map 2");

            let (k, v) = (7u32.to_le_bytes(), 9u64.to_le_bytes());
            let upd = |key: &[u8], value: &[u8]| {
                wasmnf_engine_map_update(
                    f,
                    0,
                    key.as_ptr(),
                    key.len(),
                    value.as_ptr(),
                    value.len(),
                    update::ANY,
                )
            };
            assert_eq!(upd(&k[..3], &v), ret::EINVAL, "short key");
            assert_eq!(upd(&k, &v[..7]), ret::EINVAL, "short value");
            assert_eq!(upd(&k, &v), ret::OK);
            assert_eq!(
                wasmnf_engine_map_update(f, 9, k.as_ptr(), 4, v.as_ptr(), 8, update::ANY),
                ret::EINVAL,
                "no map 9"
            );
            let mut out = [0u8; 8];
            assert_eq!(
                wasmnf_engine_map_lookup(f, 0, k.as_ptr(), 4, out.as_mut_ptr(), 8),
                ret::OK
            );
            assert_eq!(out, v);
            assert_eq!(
                wasmnf_engine_map_lookup(f, 0, k.as_ptr(), 4, out.as_mut_ptr(), 4),
                ret::EINVAL
            );
            assert_eq!(
                wasmnf_engine_map_lookup(f, 0, ptr::null(), 4, out.as_mut_ptr(), 8),
                ret::EINVAL,
                "null key"
            );

            // A per-CPU array: a host update sets every row; reads return both.
            let one = 1u32.to_le_bytes();
            assert_eq!(
                wasmnf_engine_map_update(
                    f,
                    1,
                    one.as_ptr(),
                    4,
                    5u32.to_le_bytes().as_ptr(),
                    4,
                    update::ANY
                ),
                ret::OK
            );
            let mut rows = [0u8; 8];
            assert_eq!(
                wasmnf_engine_map_lookup(f, 1, one.as_ptr(), 4, rows.as_mut_ptr(), 4),
                ret::EINVAL,
                "one row is not all"
            );
            assert_eq!(
                wasmnf_engine_map_lookup(f, 1, one.as_ptr(), 4, rows.as_mut_ptr(), 8),
                ret::OK
            );
            assert_eq!(rows, [5, 0, 0, 0, 5, 0, 0, 0]);

            // A scan of the array: its 4 indexes, then the end.
            let (mut key, mut next, mut seen) = ([0u8; 4], 0u64, 0);
            let mut cursor = 0;
            while wasmnf_engine_map_next(
                f,
                1,
                cursor,
                key.as_mut_ptr(),
                4,
                rows.as_mut_ptr(),
                8,
                &mut next,
            ) == ret::OK
            {
                assert_eq!(u32::from_le_bytes(key), seen);
                seen += 1;
                cursor = next;
            }
            assert_eq!(seen, 4);
            assert_eq!(
                wasmnf_engine_map_next(
                    f,
                    1,
                    0,
                    key.as_mut_ptr(),
                    4,
                    rows.as_mut_ptr(),
                    4,
                    &mut next
                ),
                ret::EINVAL
            );

            assert_eq!(
                wasmnf_engine_map_delete(f, 1, one.as_ptr(), 4),
                ret::EINVAL,
                "arrays keep their entries"
            );
            assert_eq!(wasmnf_engine_map_delete(f, 0, k.as_ptr(), 4), ret::OK);
            assert_eq!(wasmnf_engine_map_delete(f, 0, k.as_ptr(), 4), ret::ENOENT);
            assert_eq!(upd(&k, &v), ret::OK);
            assert_eq!(wasmnf_engine_map_clear(f, 0), ret::OK);
            assert_eq!(wasmnf_engine_map_clear(f, 5), ret::EINVAL);
            assert_eq!(
                wasmnf_engine_map_lookup(f, 0, k.as_ptr(), 4, out.as_mut_ptr(), 8),
                ret::ENOENT
            );
            wasmnf_engine_maps_reclaim(f);

            // A successor keeps the maps that carry over: `h` (same
            // declaration), not `p` (another capacity), even after the old
            // filter is gone.
            assert_eq!(upd(&k, &v), ret::OK);
            let next = with_maps(&[
                Decl::new(0, "p", kind::PERCPU_ARRAY, ty::U32, 4, ty::U32, 4, 8),
                Decl::new(1, "h", kind::HASH, ty::U32, 4, ty::U64, 8, 16),
            ]);
            let shared = wasmnf_engine_maps_share(f);
            let opts = LoadOptions {
                keep_maps: shared,
                ..opts
            };
            let g = wasmnf_engine_filter_new(next.as_ptr(), next.len(), &opts, &mut refusal);
            assert!(!g.is_null(), "{}", refusal.message());
            assert_eq!(wasmnf_engine_maps_kept(g, shared), 1);
            wasmnf_engine_maps_release(shared);
            wasmnf_engine_filter_free(f);
            assert_eq!(
                wasmnf_engine_map_lookup(g, 1, k.as_ptr(), 4, out.as_mut_ptr(), 8),
                ret::OK
            );
            assert_eq!(out, v, "the kept entry, under the new id");
            assert_eq!(
                wasmnf_engine_map_lookup(g, 0, one.as_ptr(), 4, rows.as_mut_ptr(), 8),
                ret::OK
            );
            assert_eq!(rows, [0; 8], "p started empty");
            let f = g;
            // Instances of each CPU; an out-of-range CPU is clamped.
            for cpu in [0, 1, 7] {
                let i = wasmnf_engine_instance_new(f, cpu, ptr::null_mut());
                assert!(!i.is_null());
                wasmnf_engine_instance_free(i);
            }
            wasmnf_engine_filter_free(f);
            assert_eq!(wasmnf_engine_map_count(ptr::null()), 0);
        }
    }

    /// A run that finds the instance running is refused, not let in; the
    /// instance then runs normally again.
    #[test]
    fn a_running_instance_refuses_a_second_run() {
        with_instance(SELFTEST_DROP_UDP_8080, 0, |inst| {
            // SAFETY: live instance; nothing runs it.
            unsafe { (*inst).running.store(true, Ordering::Relaxed) };
            let r = run(inst, &UDP_8080);
            assert_eq!((r.verdict, r.status), (verdict::ACCEPT, status::TRAP));
            assert_eq!(TrapKind::from_code(r.detail), TrapKind::BadHostCall);
            // SAFETY: as above.
            unsafe { (*inst).running.store(false, Ordering::Relaxed) };
            let r = run(inst, &UDP_8080);
            assert_eq!((r.verdict, r.status), (verdict::DROP, status::OK));
        });
    }
}
