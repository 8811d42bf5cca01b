//! The host side of the ABI: the functions a filter imports from `wasmnf`,
//! and the per-instance state they work on.

use crate::abi::{self, ctx_field};
use crate::config::FilterConfig;
use crate::packet::{Ctx, PacketView};
use core::ptr::NonNull;
use wasmi::{Caller, Error, Linker, Memory, StoreLimits};

/// Why a host function stopped the filter. Carried to [`crate::Instance`] as
/// wasmi's `i32_exit` status, the one error kind wasmi builds without a
/// message string.
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
}

impl HostTrap {
    pub(crate) fn from_status(status: i32) -> Option<HostTrap> {
        [
            HostTrap::PacketOutOfBounds,
            HostTrap::BadArgument,
            HostTrap::MemoryOutOfBounds,
        ]
        .into_iter()
        .find(|t| *t as i32 == status)
    }

    fn raise(self) -> Error {
        Error::i32_exit(self as i32)
    }
}

/// Longest message `set_error` keeps.
pub const ERROR_MESSAGE_MAX: usize = 128;

/// The packet of the call in progress, as a pointer with its lifetime erased.
#[derive(Default)]
pub(crate) struct PacketSlot(Option<NonNull<dyn PacketView + 'static>>);

impl PacketSlot {
    /// Makes `pkt` reachable from host functions until [`PacketSlot::clear`].
    ///
    /// The caller must clear the slot before `pkt`'s borrow ends; `Instance::run`
    /// sets it just before the Wasm call and clears it just after.
    pub(crate) fn set(&mut self, pkt: &dyn PacketView) {
        let ptr: NonNull<dyn PacketView + '_> = NonNull::from(pkt);
        // SAFETY: only the lifetime bound of the trait object changes; the fat
        // pointer's layout is the same. The erased pointer is dereferenced only
        // by `PacketSlot::get`, from host functions running inside the Wasm
        // call that `Instance::run` makes while it still borrows `pkt`, and
        // `run` clears the slot before returning. So no dereference outlives
        // the borrow.
        let erased: NonNull<dyn PacketView + 'static> = unsafe { core::mem::transmute(ptr) };
        self.0 = Some(erased);
    }

    /// Makes the packet unreachable again.
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }

    fn get(&self) -> Option<&dyn PacketView> {
        // SAFETY: the slot holds a pointer only between `set` and `clear`,
        // while the packet it points to is borrowed by `Instance::run` (see
        // `set`). Host functions never keep the reference beyond their return.
        self.0.map(|p| unsafe { p.as_ref() })
    }
}

/// Per-instance state reachable from host functions.
pub(crate) struct HostState {
    pub(crate) packet: PacketSlot,
    pub(crate) ctx: Ctx,
    pub(crate) config: FilterConfig,
    pub(crate) limits: StoreLimits,
    pub(crate) memory: Option<Memory>,
    error: [u8; ERROR_MESSAGE_MAX],
    error_len: usize,
}

impl HostState {
    pub(crate) fn new(config: FilterConfig, limits: StoreLimits) -> Self {
        HostState {
            packet: PacketSlot::default(),
            ctx: Ctx::default(),
            config,
            limits,
            memory: None,
            error: [0; ERROR_MESSAGE_MAX],
            error_len: 0,
        }
    }

    /// The message the filter last gave with `set_error`.
    pub(crate) fn error_message(&self) -> Option<&str> {
        let bytes = &self.error[..self.error_len];
        (!bytes.is_empty()).then(|| core::str::from_utf8(bytes).unwrap_or("<not UTF-8>"))
    }

    fn len(&self) -> usize {
        self.packet.get().map_or(0, |p| p.len())
    }
}

fn offset(v: i32) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| HostTrap::BadArgument.raise())
}

/// Reads `N` packet bytes at `off`; traps if they are not all inside it.
fn read_be<const N: usize>(caller: &Caller<'_, HostState>, off: i32) -> Result<[u8; N], Error> {
    let pkt = caller
        .data()
        .packet
        .get()
        .ok_or_else(|| HostTrap::BadArgument.raise())?;
    let mut buf = [0u8; N];
    match pkt.copy_to(offset(off)?, &mut buf) {
        true => Ok(buf),
        false => Err(HostTrap::PacketOutOfBounds.raise()),
    }
}

/// The filter's memory `[ptr, ptr + len)`, or a trap.
fn guest_range(ptr: i32, len: i32, size: usize) -> Result<core::ops::Range<usize>, Error> {
    let (ptr, len) = (offset(ptr)?, offset(len)?);
    match ptr.checked_add(len) {
        Some(end) if end <= size => Ok(ptr..end),
        _ => Err(HostTrap::MemoryOutOfBounds.raise()),
    }
}

fn memory(caller: &Caller<'_, HostState>) -> Result<Memory, Error> {
    caller
        .data()
        .memory
        .ok_or_else(|| HostTrap::MemoryOutOfBounds.raise())
}

/// Defines every ABI import in `linker`.
pub(crate) fn define(linker: &mut Linker<HostState>) -> Result<(), Error> {
    let m = abi::IMPORT_MODULE;
    linker.func_wrap(m, "pkt_u8", |c: Caller<'_, HostState>, off: i32| {
        read_be::<1>(&c, off).map(|b| i32::from(b[0]))
    })?;
    linker.func_wrap(m, "pkt_u16", |c: Caller<'_, HostState>, off: i32| {
        read_be::<2>(&c, off).map(|b| i32::from(u16::from_be_bytes(b)))
    })?;
    linker.func_wrap(m, "pkt_u32", |c: Caller<'_, HostState>, off: i32| {
        read_be::<4>(&c, off).map(i32::from_be_bytes)
    })?;
    linker.func_wrap(m, "pkt_u64", |c: Caller<'_, HostState>, off: i32| {
        read_be::<8>(&c, off).map(i64::from_be_bytes)
    })?;
    linker.func_wrap(
        m,
        "pkt_read",
        |mut c: Caller<'_, HostState>, off: i32, dst: i32, len: i32| -> Result<i32, Error> {
            let off = offset(off)?;
            let mem = memory(&c)?;
            let (data, state) = mem.data_and_store_mut(&mut c);
            let pkt = state
                .packet
                .get()
                .ok_or_else(|| HostTrap::BadArgument.raise())?;
            let avail = pkt.len().saturating_sub(off);
            let n = avail.min(offset(len)?);
            let range = guest_range(dst, n as i32, data.len())?;
            if n > 0 && !pkt.copy_to(off, &mut data[range]) {
                return Err(HostTrap::PacketOutOfBounds.raise());
            }
            Ok(n as i32)
        },
    )?;
    linker.func_wrap(
        m,
        "ctx",
        |c: Caller<'_, HostState>, field: i32| -> Result<i64, Error> {
            use crate::packet::PktInfo;
            let s = c.data();
            let Some(pkt) = s.packet.get() else {
                return Err(HostTrap::BadArgument.raise());
            };
            let ctx = &s.ctx;
            Ok(match field {
                ctx_field::LEN => s.len() as i64,
                ctx_field::HOOK => i64::from(ctx.hook as u32),
                ctx_field::FAMILY => i64::from(ctx.family as u32),
                ctx_field::IIF => i64::from(ctx.iif),
                ctx_field::OIF => i64::from(ctx.oif),
                ctx_field::MARK => i64::from(ctx.mark),
                ctx_field::TSTAMP_NS => ctx.tstamp_ns as i64,
                ctx_field::L4 => PktInfo::encode(PktInfo::parse(pkt, ctx.family).as_ref()).0 as i64,
                ctx_field::PORTS => {
                    i64::from(PktInfo::encode(PktInfo::parse(pkt, ctx.family).as_ref()).1)
                }
                _ => return Err(HostTrap::BadArgument.raise()),
            })
        },
    )?;
    linker.func_wrap(
        m,
        "config_get",
        |mut c: Caller<'_, HostState>,
         kp: i32,
         kl: i32,
         vp: i32,
         vcap: i32|
         -> Result<i32, Error> {
            let mem = memory(&c)?;
            let (data, state) = mem.data_and_store_mut(&mut c);
            let key = guest_range(kp, kl, data.len())?;
            let Some(value) = state.config.get_bytes(&data[key]) else {
                return Ok(-1);
            };
            let n = value.len().min(offset(vcap)?);
            let dst = guest_range(vp, n as i32, data.len())?;
            data[dst].copy_from_slice(&value.as_bytes()[..n]);
            Ok(value.len() as i32)
        },
    )?;
    linker.func_wrap(
        m,
        "set_error",
        |mut c: Caller<'_, HostState>, ptr: i32, len: i32| -> Result<(), Error> {
            let mem = memory(&c)?;
            let (data, state) = mem.data_and_store_mut(&mut c);
            let range = guest_range(ptr, len, data.len())?;
            let msg = &data[range];
            let n = msg.len().min(ERROR_MESSAGE_MAX);
            state.error[..n].copy_from_slice(&msg[..n]);
            state.error_len = n;
            Ok(())
        },
    )?;
    Ok(())
}
