//! The host side of the ABI: the functions a filter imports from `wasmnf`,
//! and the per-instance state they work on.

use crate::abi;
use crate::config::FilterConfig;
use crate::imports::{self, ErrorMessage, HostTrap};
use crate::maps::Maps;
use crate::packet::{Ctx, PacketView};
use alloc::sync::Arc;
use core::ptr::NonNull;
use wasmi::{Caller, Error, Linker, Memory, StoreLimits};

impl From<HostTrap> for Error {
    fn from(t: HostTrap) -> Self {
        raise(t)
    }
}

fn raise(t: HostTrap) -> Error {
    Error::i32_exit(t as i32)
}

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

    pub(crate) fn get(&self) -> Option<&dyn PacketView> {
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
    error: ErrorMessage,
    maps: Arc<Maps>,
    cpu: usize,
}

impl HostState {
    pub(crate) fn new(
        config: FilterConfig,
        limits: StoreLimits,
        maps: Arc<Maps>,
        cpu: usize,
    ) -> Self {
        HostState {
            packet: PacketSlot::default(),
            ctx: Ctx::default(),
            config,
            limits,
            memory: None,
            error: ErrorMessage::default(),
            maps,
            cpu,
        }
    }

    /// The message the filter last gave with `set_error`.
    pub(crate) fn error_message(&self) -> Option<&str> {
        self.error.get()
    }
}

/// The exported memory and the host state, split so both can be borrowed.
fn split<'a>(c: &'a mut Caller<'_, HostState>) -> (Option<&'a mut [u8]>, &'a mut HostState) {
    match c.data().memory {
        Some(mem) => {
            let (data, state) = mem.data_and_store_mut(c);
            (Some(data), state)
        }
        None => (None, c.data_mut()),
    }
}

/// Defines every ABI import in `linker`, each a thin wrapper over
/// [`crate::imports`].
pub(crate) fn define(linker: &mut Linker<HostState>) -> Result<(), Error> {
    let m = abi::IMPORT_MODULE;
    linker.func_wrap(m, "pkt_u8", move |c: Caller<'_, HostState>, off: i32| {
        imports::pkt_bytes::<1>(c.data().packet.get(), off)
            .map(|b| i32::from(b[0]))
            .map_err(raise)
    })?;
    linker.func_wrap(m, "pkt_u16", move |c: Caller<'_, HostState>, off: i32| {
        imports::pkt_bytes::<2>(c.data().packet.get(), off)
            .map(|b| i32::from(u16::from_be_bytes(b)))
            .map_err(raise)
    })?;
    linker.func_wrap(m, "pkt_u32", move |c: Caller<'_, HostState>, off: i32| {
        imports::pkt_bytes::<4>(c.data().packet.get(), off)
            .map(i32::from_be_bytes)
            .map_err(raise)
    })?;
    linker.func_wrap(m, "pkt_u64", move |c: Caller<'_, HostState>, off: i32| {
        imports::pkt_bytes::<8>(c.data().packet.get(), off)
            .map(i64::from_be_bytes)
            .map_err(raise)
    })?;
    linker.func_wrap(
        m,
        "pkt_read",
        move |mut c: Caller<'_, HostState>, off: i32, dst: i32, len: i32| {
            let (memory, state) = split(&mut c);
            imports::pkt_read(state.packet.get(), memory, off, dst, len).map_err(raise)
        },
    )?;
    linker.func_wrap(m, "ctx", move |c: Caller<'_, HostState>, field: i32| {
        let s = c.data();
        imports::ctx(s.packet.get(), &s.ctx, field).map_err(raise)
    })?;
    linker.func_wrap(
        m,
        "config_get",
        move |mut c: Caller<'_, HostState>, key: i32, key_len: i32, dst: i32, cap: i32| {
            let (memory, state) = split(&mut c);
            imports::config_get(&state.config, memory, key, key_len, dst, cap).map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "set_error",
        move |mut c: Caller<'_, HostState>, ptr: i32, len: i32| {
            let (memory, state) = split(&mut c);
            imports::set_error(&mut state.error, memory.as_deref(), ptr, len).map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "map_lookup",
        move |mut c: Caller<'_, HostState>, map: i32, key: i32, value: i32| {
            let (memory, state) = split(&mut c);
            imports::map_lookup(&state.maps, state.cpu, memory, map, key, value).map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "map_lookup_pkt",
        move |mut c: Caller<'_, HostState>, map: i32, field: i32, value: i32| {
            let (memory, state) = split(&mut c);
            let (packet, family) = (state.packet.get(), state.ctx.family);
            imports::map_lookup_pkt(
                &state.maps,
                state.cpu,
                packet,
                family,
                memory,
                map,
                field,
                value,
            )
            .map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "map_update",
        move |mut c: Caller<'_, HostState>, map: i32, key: i32, value: i32, flags: i32| {
            let (memory, state) = split(&mut c);
            imports::map_update(
                &state.maps,
                state.cpu,
                memory.as_deref(),
                map,
                key,
                value,
                flags,
            )
            .map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "map_delete",
        move |mut c: Caller<'_, HostState>, map: i32, key: i32| {
            let (memory, state) = split(&mut c);
            imports::map_delete(&state.maps, memory.as_deref(), map, key).map_err(raise)
        },
    )?;
    linker.func_wrap(
        m,
        "map_add",
        move |mut c: Caller<'_, HostState>, map: i32, key: i32, offset: i32, delta: i64| {
            let (memory, state) = split(&mut c);
            imports::map_add(
                &state.maps,
                state.cpu,
                memory.as_deref(),
                map,
                key,
                offset,
                delta,
            )
            .map_err(raise)
        },
    )?;
    Ok(())
}
