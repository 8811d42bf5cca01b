//! The ABI's host functions (imports from `wasmnf`) and the staging window.
//! The only `unsafe` in the SDK lives here, behind safe wrappers.

#[link(wasm_import_module = "wasmnf")]
extern "C" {
    fn pkt_u8(off: i32) -> i32;
    fn pkt_u16(off: i32) -> i32;
    fn pkt_u32(off: i32) -> i32;
    fn pkt_read(off: i32, dst: i32, len: i32) -> i32;
    fn ctx(field: i32) -> i64;
    fn config_get(key: i32, key_len: i32, val: i32, val_cap: i32) -> i32;
    fn set_error(ptr: i32, len: i32);
    #[link_name = "map_lookup"]
    fn map_lookup_raw(map: i32, key: i32, value: i32) -> i32;
    #[link_name = "map_update"]
    fn map_update_raw(map: i32, key: i32, value: i32, flags: i32) -> i32;
    #[link_name = "map_delete"]
    fn map_delete_raw(map: i32, key: i32) -> i32;
    #[link_name = "map_add"]
    fn map_add_raw(map: i32, key: i32, offset: i32, delta: i64) -> i32;
    #[link_name = "map_lookup_pkt"]
    fn map_lookup_pkt_raw(map: i32, field: i32, value: i32) -> i32;
}

// The map imports: `key` and `value` are exactly the sizes the map declares
// (the typed maps in `crate::maps` guarantee it); the host reads and writes
// only those bytes, and traps on a range outside memory.

/// `map_lookup`: copies the value into `value`.
#[inline(always)]
pub(crate) fn map_lookup(map: u32, key: &[u8], value: &mut [u8]) -> i32 {
    // SAFETY: `key` and `value` are live buffers of this module's memory of
    // the map's key and value sizes; the host writes only `value`.
    unsafe { map_lookup_raw(map as i32, key.as_ptr() as i32, value.as_mut_ptr() as i32) }
}

/// `map_update`.
#[inline(always)]
pub(crate) fn map_update(map: u32, key: &[u8], value: &[u8], flags: i32) -> i32 {
    // SAFETY: live buffers the host only reads.
    unsafe {
        map_update_raw(
            map as i32,
            key.as_ptr() as i32,
            value.as_ptr() as i32,
            flags,
        )
    }
}

/// `map_delete`.
#[inline(always)]
pub(crate) fn map_delete(map: u32, key: &[u8]) -> i32 {
    // SAFETY: a live buffer the host only reads.
    unsafe { map_delete_raw(map as i32, key.as_ptr() as i32) }
}

/// `map_add`: adds `delta` to the `u64` at byte `offset` of the value.
#[inline(always)]
pub(crate) fn map_add(map: u32, key: &[u8], offset: usize, delta: u64) -> i32 {
    // SAFETY: a live buffer the host only reads.
    unsafe { map_add_raw(map as i32, key.as_ptr() as i32, offset as i32, delta as i64) }
}

/// `map_lookup_pkt`: [`map_lookup`] keyed by the packet's address `field`
/// (`wasmnf_common::maps::addr`); the host builds the key.
#[inline(always)]
pub(crate) fn map_lookup_pkt(map: u32, field: i32, value: &mut [u8]) -> i32 {
    // SAFETY: `value` is a live buffer of this module's memory of the map's
    // value size; the host writes only it.
    unsafe { map_lookup_pkt_raw(map as i32, field, value.as_mut_ptr() as i32) }
}

/// `map_lookup_pkt` with `addr::NO_VALUE`: whether an entry holds the
/// packet's address `field`; nothing is copied.
#[inline(always)]
pub(crate) fn map_contains_pkt(map: u32, field: i32) -> i32 {
    use wasmnf_common::maps::addr::NO_VALUE;
    // SAFETY: with `NO_VALUE` the host reads and writes none of this
    // module's memory.
    unsafe { map_lookup_pkt_raw(map as i32, field, NO_VALUE) }
}

/// Reads a big-endian `u8`/`u16`/`u32` at `off`. The caller has checked that
/// the bytes are inside the packet, so the host never traps here.
pub(crate) fn read_u8(off: usize) -> u8 {
    // SAFETY: host import with no memory arguments; out-of-range offsets trap
    // in the host, they cannot corrupt anything.
    unsafe { pkt_u8(off as i32) as u8 }
}

pub(crate) fn read_u16(off: usize) -> u16 {
    // SAFETY: as `read_u8`.
    unsafe { pkt_u16(off as i32) as u16 }
}

pub(crate) fn read_u32(off: usize) -> u32 {
    // SAFETY: as `read_u8`.
    unsafe { pkt_u32(off as i32) as u32 }
}

/// Copies packet bytes at `off` into `dst`; returns how many were copied.
pub(crate) fn read_into(off: usize, dst: &mut [u8]) -> usize {
    // SAFETY: `dst` is a live, writable buffer of `dst.len()` bytes in this
    // module's memory; the host writes at most that many bytes into it.
    unsafe { pkt_read(off as i32, dst.as_mut_ptr() as i32, dst.len() as i32) as usize }
}

/// Reads hook-context field `field` (see the ABI's `ctx_field`).
#[cfg_attr(feature = "window", allow(dead_code))]
pub(crate) fn ctx_field(field: i32) -> u64 {
    // SAFETY: host import with no memory arguments.
    unsafe { ctx(field) as u64 }
}

/// `ctx` field numbers of the host's network-layer parse (ABI v1
/// `ctx_field::L4` and `ctx_field::PORTS` in the engine).
#[cfg_attr(feature = "window", allow(dead_code))]
const CTX_L4: i32 = 7;
#[cfg_attr(feature = "window", allow(dead_code))]
const CTX_PORTS: i32 = 8;

/// Flags of [`HostL4`] (ABI v1 `l4_flags`): the ports are valid.
pub(crate) const L4_PORTS: u8 = 1 << 1;

/// The host's parse of the network layer, as the engine hands it over (ABI
/// v1: window bytes 40..48, or the `l4` context field). All zero if the
/// packet does not start with a complete IP header of its family; the
/// transport offset is never zero otherwise.
#[derive(Clone, Copy)]
pub(crate) struct HostL4 {
    /// Offset of the transport header.
    pub(crate) offset: u32,
    /// Transport protocol, after IPv6 extension headers.
    pub(crate) protocol: u8,
    /// 0 not fragmented, 1 first fragment, 2 non-first fragment.
    pub(crate) fragment: u8,
    /// `L4_*` bits.
    pub(crate) flags: u8,
}

/// The host's network-layer parse of the current packet: from the window
/// (one load per field used), or with one `ctx` call.
#[inline(always)]
pub(crate) fn host_l4() -> HostL4 {
    #[cfg(feature = "window")]
    {
        use window::*;
        HostL4 {
            offset: u32_le(L4_OFFSET),
            protocol: bytes::<1>(L4_PROTO)[0],
            fragment: bytes::<1>(FRAGMENT)[0],
            flags: bytes::<1>(L4_FLAGS)[0],
        }
    }
    #[cfg(not(feature = "window"))]
    {
        let w = ctx_field(CTX_L4);
        HostL4 {
            offset: w as u32,
            protocol: (w >> 32) as u8,
            fragment: (w >> 40) as u8,
            flags: (w >> 48) as u8,
        }
    }
}

/// The TCP or UDP (source, destination) ports the host parsed; meaningful
/// only when [`HostL4::flags`] has [`L4_PORTS`].
#[inline(always)]
pub(crate) fn host_ports() -> (u16, u16) {
    #[cfg(feature = "window")]
    {
        (window::u16_le(window::SPORT), window::u16_le(window::DPORT))
    }
    #[cfg(not(feature = "window"))]
    {
        let p = ctx_field(CTX_PORTS);
        (p as u16, (p >> 16) as u16)
    }
}

/// Copies the value of config `key` into `dst`; returns its full length, or
/// `None` if the key is not set.
pub(crate) fn config_value(key: &str, dst: &mut [u8]) -> Option<usize> {
    // SAFETY: `key` and `dst` are live buffers in this module's memory with
    // the lengths given; the host reads `key` and writes at most `dst.len()`
    // bytes into `dst`.
    let n = unsafe {
        config_get(
            key.as_ptr() as i32,
            key.len() as i32,
            dst.as_mut_ptr() as i32,
            dst.len() as i32,
        )
    };
    usize::try_from(n).ok()
}

/// Hands the host a message explaining why `init` failed.
pub(crate) fn report_error(msg: &[u8]) {
    // SAFETY: `msg` is a live buffer in this module's memory.
    unsafe { set_error(msg.as_ptr() as i32, msg.len() as i32) }
}

#[cfg(feature = "window")]
pub(crate) mod window {
    use core::cell::UnsafeCell;

    /// Offsets in the window (ABI v1, `abi::window` in the engine; the
    /// packet length at offset 0 is not read: `filter` receives it).
    pub(crate) const STAGED: usize = 4;
    pub(crate) const HOOK: usize = 8;
    pub(crate) const FAMILY: usize = 12;
    pub(crate) const IIF: usize = 16;
    pub(crate) const OIF: usize = 20;
    pub(crate) const MARK: usize = 24;
    pub(crate) const TSTAMP_NS: usize = 32;
    pub(crate) const L4_OFFSET: usize = 40;
    pub(crate) const L4_PROTO: usize = 44;
    pub(crate) const FRAGMENT: usize = 45;
    pub(crate) const L4_FLAGS: usize = 46;
    pub(crate) const SPORT: usize = 48;
    pub(crate) const DPORT: usize = 50;
    pub(crate) const PACKET: usize = 64;
    pub(crate) const PACKET_MAX: usize = 128;
    const SIZE: usize = PACKET + PACKET_MAX;

    /// The staging window. The host writes it between calls, never during
    /// one, so reads inside a call see one packet's data.
    #[repr(C, align(8))]
    pub struct Window(UnsafeCell<[u8; SIZE]>);

    // SAFETY: wasm32-unknown-unknown filters are single-threaded; the only
    // other writer is the host, and only between calls.
    unsafe impl Sync for Window {}

    /// Exported as the `wasmnf_window` global: its value is this address.
    #[no_mangle]
    pub static wasmnf_window: Window = Window(UnsafeCell::new([0; SIZE]));

    /// `N` bytes of the window at `at`. `at + N <= SIZE` for every caller
    /// (checked by the `debug_assert`, guaranteed by the offsets above and by
    /// `staged <= PACKET_MAX`).
    #[inline(always)]
    pub(crate) fn bytes<const N: usize>(at: usize) -> [u8; N] {
        debug_assert!(at + N <= SIZE);
        let base = wasmnf_window.0.get() as *const u8;
        // SAFETY: `at + N <= SIZE`, so the read is inside the window; the
        // window is plain bytes, and nothing writes it during a call.
        unsafe { core::ptr::read_unaligned(base.add(at) as *const [u8; N]) }
    }

    #[inline(always)]
    pub(crate) fn u32_le(at: usize) -> u32 {
        u32::from_le_bytes(bytes::<4>(at))
    }

    #[inline(always)]
    pub(crate) fn u16_le(at: usize) -> u16 {
        u16::from_le_bytes(bytes::<2>(at))
    }
}
