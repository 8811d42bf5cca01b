//! What each ABI import does, independent of the engine running the filter:
//! wasmi's host functions ([`crate::host`]) and the fast tier
//! ([`crate::fast`]) both call these.
//!
//! Each takes exactly what it reads: the packet of the call in progress
//! (`None` during `init`), the filter's memory (`None` if it exports none)
//! and the arguments as the filter passed them.

use crate::config::FilterConfig;
use crate::maps::{Cpus, Map, Maps};
use crate::packet::{Addr, Family, PacketView};
use core::ops::Range;
use wasmnf_common::ffi::TrapKind;
use wasmnf_common::maps::{addr, ret, KEY_SIZE_MAX};

/// Why a host function stopped the filter. On the wasmi tier it travels as
/// wasmi's `i32_exit` status (the one error kind wasmi builds without a
/// message string), hence the explicit discriminants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum HostTrap {
    /// A read of packet bytes past the end of the packet.
    PacketOutOfBounds = 1,
    /// A negative length or offset, an unknown `ctx` field, or a packet read
    /// during `init` (there is no packet then).
    BadArgument = 2,
    /// A pointer and length that are not inside the filter's memory.
    MemoryOutOfBounds = 3,
    /// A map id the filter does not declare.
    NoSuchMap = 4,
}

impl HostTrap {
    /// The trap kind a run that stopped so reports.
    pub(crate) fn kind(self) -> TrapKind {
        match self {
            HostTrap::PacketOutOfBounds => TrapKind::PacketOutOfBounds,
            HostTrap::BadArgument => TrapKind::BadHostCall,
            HostTrap::MemoryOutOfBounds => TrapKind::HostMemoryOutOfBounds,
            HostTrap::NoSuchMap => TrapKind::NoSuchMap,
        }
    }
}

/// Longest message `set_error` keeps.
pub const ERROR_MESSAGE_MAX: usize = 128;

/// The message a filter gave with `set_error`.
pub(crate) struct ErrorMessage {
    bytes: [u8; ERROR_MESSAGE_MAX],
    len: usize,
}

impl Default for ErrorMessage {
    fn default() -> Self {
        ErrorMessage {
            bytes: [0; ERROR_MESSAGE_MAX],
            len: 0,
        }
    }
}

impl ErrorMessage {
    /// The message, if one was given.
    pub(crate) fn get(&self) -> Option<&str> {
        let bytes = self.bytes.get(..self.len)?;
        (!bytes.is_empty()).then(|| core::str::from_utf8(bytes).unwrap_or("<not UTF-8>"))
    }
}

/// A non-negative offset or length, or a trap.
pub(crate) fn offset(v: i32) -> Result<usize, HostTrap> {
    usize::try_from(v).map_err(|_| HostTrap::BadArgument)
}

/// The filter's memory `[ptr, ptr + len)`, or a trap.
fn guest_range(ptr: i32, len: usize, size: usize) -> Result<Range<usize>, HostTrap> {
    let ptr = offset(ptr)?;
    match ptr.checked_add(len) {
        Some(end) if end <= size => Ok(ptr..end),
        _ => Err(HostTrap::MemoryOutOfBounds),
    }
}

/// The packet, or a trap if there is none (during `init`).
fn packet(pkt: Option<&dyn PacketView>) -> Result<&dyn PacketView, HostTrap> {
    pkt.ok_or(HostTrap::BadArgument)
}

/// `pkt_u8` .. `pkt_u64`: the `N` bytes at `off`, as on the wire.
#[inline]
pub(crate) fn pkt_bytes<const N: usize>(
    pkt: Option<&dyn PacketView>,
    off: i32,
) -> Result<[u8; N], HostTrap> {
    let pkt = packet(pkt)?;
    let mut buf = [0u8; N];
    match pkt.copy_to(offset(off)?, &mut buf) {
        true => Ok(buf),
        false => Err(HostTrap::PacketOutOfBounds),
    }
}

/// `pkt_read(off, dst, len)`.
pub(crate) fn pkt_read(
    pkt: Option<&dyn PacketView>,
    memory: Option<&mut [u8]>,
    off: i32,
    dst: i32,
    len: i32,
) -> Result<i32, HostTrap> {
    let off = offset(off)?;
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let pkt = packet(pkt)?;
    let n = pkt.len().saturating_sub(off).min(offset(len)?);
    let range = guest_range(dst, n, memory.len())?;
    let dst = memory.get_mut(range).ok_or(HostTrap::MemoryOutOfBounds)?;
    if n > 0 && !pkt.copy_to(off, dst) {
        return Err(HostTrap::PacketOutOfBounds);
    }
    Ok(n as i32)
}

/// `config_get(key, key_len, dst, cap)`.
pub(crate) fn config_get(
    config: &FilterConfig,
    memory: Option<&mut [u8]>,
    key: i32,
    key_len: i32,
    dst: i32,
    cap: i32,
) -> Result<i32, HostTrap> {
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let key = guest_range(key, offset(key_len)?, memory.len())?;
    let Some(value) = memory.get(key).and_then(|k| config.get_bytes(k)) else {
        return Ok(-1);
    };
    let value = value.as_bytes();
    let n = value.len().min(offset(cap)?);
    let dst = guest_range(dst, n, memory.len())?;
    if let (Some(dst), Some(src)) = (memory.get_mut(dst), value.get(..n)) {
        dst.copy_from_slice(src);
    }
    Ok(value.len() as i32)
}

/// `set_error(ptr, len)`.
pub(crate) fn set_error(
    error: &mut ErrorMessage,
    memory: Option<&[u8]>,
    ptr: i32,
    len: i32,
) -> Result<(), HostTrap> {
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let range = guest_range(ptr, offset(len)?, memory.len())?;
    let msg = memory.get(range).unwrap_or_default();
    let n = msg.len().min(ERROR_MESSAGE_MAX);
    if let (Some(dst), Some(src)) = (error.bytes.get_mut(..n), msg.get(..n)) {
        dst.copy_from_slice(src);
        error.len = n;
    }
    Ok(())
}

/// `ctx(field)`: a hook-context field (`abi::ctx_field`).
pub(crate) fn ctx(
    pkt: Option<&dyn PacketView>,
    ctx: &crate::packet::Ctx,
    field: i32,
) -> Result<i64, HostTrap> {
    use crate::abi::ctx_field;
    use crate::abi::PktInfo;
    let pkt = packet(pkt)?;
    Ok(match field {
        ctx_field::LEN => pkt.len() as i64,
        ctx_field::HOOK => i64::from(ctx.hook as u32),
        ctx_field::FAMILY => i64::from(ctx.family as u32),
        ctx_field::IIF => i64::from(ctx.iif),
        ctx_field::OIF => i64::from(ctx.oif),
        ctx_field::MARK => i64::from(ctx.mark),
        ctx_field::TSTAMP_NS => ctx.tstamp_ns as i64,
        ctx_field::L4 => PktInfo::encode(PktInfo::parse(pkt, ctx.family).as_ref()).0 as i64,
        ctx_field::PORTS => i64::from(PktInfo::encode(PktInfo::parse(pkt, ctx.family).as_ref()).1),
        _ => return Err(HostTrap::BadArgument),
    })
}

/// The declared map `id`, or a trap.
#[inline]
fn map(maps: &Maps, id: i32) -> Result<&Map, HostTrap> {
    u32::try_from(id)
        .ok()
        .and_then(|id| maps.get(id))
        .ok_or(HostTrap::NoSuchMap)
}

/// The key of `m` at `key` in `memory`, copied out (a key is at most
/// `KEY_SIZE_MAX` bytes), with its length.
#[inline]
fn key_of(
    m: &Map,
    memory: &[u8],
    key: i32,
) -> Result<([u8; KEY_SIZE_MAX as usize], usize), HostTrap> {
    let n = m.decl().key_size as usize;
    let range = guest_range(key, n, memory.len())?;
    let mut buf = [0u8; KEY_SIZE_MAX as usize];
    // A key size over `KEY_SIZE_MAX` was refused at load; were one here,
    // it would be a bad argument, not a panic.
    buf.get_mut(..n)
        .ok_or(HostTrap::BadArgument)?
        .copy_from_slice(memory.get(range).ok_or(HostTrap::MemoryOutOfBounds)?);
    Ok((buf, n))
}

/// What a lookup import returns: `0` found, `-ENOENT` not.
#[inline(always)]
fn lookup_status(found: bool) -> i32 {
    if found {
        ret::OK
    } else {
        ret::ENOENT
    }
}

/// `map_lookup(map, key, value)`: copies the value to `value`; `0` if found,
/// `-ENOENT` if not (the value bytes are then unspecified).
#[inline]
pub(crate) fn map_lookup(
    maps: &Maps,
    cpu: usize,
    memory: Option<&mut [u8]>,
    id: i32,
    key: i32,
    value: i32,
) -> Result<i32, HostTrap> {
    let m = map(maps, id)?;
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let d = m.decl();
    let keys = guest_range(key, d.key_size as usize, memory.len())?;
    let values = guest_range(value, d.value_size as usize, memory.len())?;
    let key = m.prepare(memory.get(keys).ok_or(HostTrap::MemoryOutOfBounds)?);
    let dst = memory.get_mut(values).ok_or(HostTrap::MemoryOutOfBounds)?;
    Ok(lookup_status(m.lookup_prepared(&key, cpu, dst)))
}

/// `map_lookup_pkt(map, field, value)`: [`map_lookup`] with the key the
/// host takes from the packet, its source (`addr::SRC`) or destination
/// (`addr::DST`) address ([`Map::addr_key`]): `0` found, `-ENOENT` not,
/// `-ENODATA` if the packet has no address of the map's family, `-EINVAL`
/// for a map no address can key. `value` `addr::NO_VALUE` (`-1`) asks only
/// whether an entry holds the address, as an nftables set does. Traps like
/// [`map_lookup`], and with a bad argument for another `field` or a call
/// during `init`.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn map_lookup_pkt(
    maps: &Maps,
    cpu: usize,
    pkt: Option<&dyn PacketView>,
    family: Family,
    memory: Option<&mut [u8]>,
    id: i32,
    field: i32,
    value: i32,
) -> Result<i32, HostTrap> {
    let m = map(maps, id)?;
    let pkt = packet(pkt)?;
    let dst_field = match field {
        addr::SRC => false,
        addr::DST => true,
        _ => return Err(HostTrap::BadArgument),
    };
    // `value == -1`: a membership test, nothing copied (and no memory
    // needed). Any other `value` is checked before the lookup.
    let mut none: [u8; 0] = [];
    let dst = match value {
        addr::NO_VALUE => &mut none[..],
        _ => {
            let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
            let values = guest_range(value, m.decl().value_size as usize, memory.len())?;
            memory.get_mut(values).ok_or(HostTrap::MemoryOutOfBounds)?
        }
    };
    let key = match m.addr_key(Addr::of(pkt, family, dst_field)) {
        Ok(key) => key,
        Err(e) => return Ok(e),
    };
    Ok(lookup_status(m.lookup_prepared(&key, cpu, dst)))
}

/// `map_update(map, key, value, flags)`.
pub(crate) fn map_update(
    maps: &Maps,
    cpu: usize,
    memory: Option<&[u8]>,
    id: i32,
    key: i32,
    value: i32,
    flags: i32,
) -> Result<i32, HostTrap> {
    let m = map(maps, id)?;
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let (k, n) = key_of(m, memory, key)?;
    let range = guest_range(value, m.decl().value_size as usize, memory.len())?;
    let v = memory.get(range).ok_or(HostTrap::MemoryOutOfBounds)?;
    Ok(m.update(&k[..n], v, flags, Cpus::One(cpu)))
}

/// `map_delete(map, key)`.
pub(crate) fn map_delete(
    maps: &Maps,
    memory: Option<&[u8]>,
    id: i32,
    key: i32,
) -> Result<i32, HostTrap> {
    let m = map(maps, id)?;
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let (k, n) = key_of(m, memory, key)?;
    Ok(m.delete(&k[..n]))
}

/// `map_add(map, key, offset, delta)`; an `offset` that is not a multiple
/// of 8 inside the value traps (bad argument).
pub(crate) fn map_add(
    maps: &Maps,
    cpu: usize,
    memory: Option<&[u8]>,
    id: i32,
    key: i32,
    offset: i32,
    delta: i64,
) -> Result<i32, HostTrap> {
    let m = map(maps, id)?;
    let memory = memory.ok_or(HostTrap::MemoryOutOfBounds)?;
    let (k, n) = key_of(m, memory, key)?;
    m.add(&k[..n], self::offset(offset)?, delta as u64, cpu)
        .ok_or(HostTrap::BadArgument)
}
