//! The oracle: wasmtime (Cranelift) running a module with the ABI's imports
//! implemented again from docs/abi.md ("Imports"): the same arguments
//! checked in the same order, the same traps.

use crate::{packets, Outcome, Trace, CONFIG};
use std::sync::OnceLock;
use wasmnf_engine::abi::{self, PktInfo};
use wasmnf_engine::{Ctx, TrapKind};
use wasmtime::{
    Caller, Config, Engine, Extern, Instance, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, Trap,
};

/// A trap raised by an import.
#[derive(Debug)]
struct HostErr(TrapKind);

impl std::fmt::Display for HostErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasmnf host trap: {}", self.0)
    }
}

impl std::error::Error for HostErr {}

type HostResult<T> = wasmtime::Result<T>;

fn trap<T>(kind: TrapKind) -> HostResult<T> {
    Err(wasmtime::Error::new(HostErr(kind)))
}

struct State {
    packet: Vec<u8>,
    ctx: Ctx,
    limits: StoreLimits,
    memory: Option<Memory>,
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        config.wasm_simd(false);
        config.wasm_relaxed_simd(false);
        config.wasm_tail_call(false);
        config.wasm_multi_value(true);
        config.wasm_bulk_memory(true);
        Engine::new(&config).expect("wasmtime engine")
    })
}

/// A non-negative offset or length (else the ABI's bad-argument trap).
fn offset(v: i32) -> HostResult<usize> {
    match usize::try_from(v) {
        Ok(v) => Ok(v),
        Err(_) => trap(TrapKind::BadHostCall),
    }
}

/// `[ptr, ptr + len)` inside memory of `size` bytes.
fn range(ptr: i32, len: usize, size: usize) -> HostResult<std::ops::Range<usize>> {
    let ptr = offset(ptr)?;
    match ptr.checked_add(len) {
        Some(end) if end <= size => Ok(ptr..end),
        _ => trap(TrapKind::HostMemoryOutOfBounds),
    }
}

fn memory_of<'a>(c: &'a mut Caller<'_, State>) -> HostResult<(&'a mut [u8], &'a mut State)> {
    match c.data().memory {
        Some(m) => Ok(m.data_and_store_mut(c)),
        None => trap(TrapKind::HostMemoryOutOfBounds),
    }
}

fn pkt_bytes<const N: usize>(c: &Caller<'_, State>, off: i32) -> HostResult<[u8; N]> {
    let off = offset(off)?;
    let pkt = &c.data().packet;
    match off.checked_add(N).and_then(|end| pkt.get(off..end)) {
        Some(b) => Ok(b.try_into().expect("N bytes")),
        None => trap(TrapKind::PacketOutOfBounds),
    }
}

fn define(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let m = abi::IMPORT_MODULE;
    linker.func_wrap(m, "pkt_u8", |c: Caller<'_, State>, off: i32| {
        pkt_bytes::<1>(&c, off).map(|b| i32::from(b[0]))
    })?;
    linker.func_wrap(m, "pkt_u16", |c: Caller<'_, State>, off: i32| {
        pkt_bytes::<2>(&c, off).map(|b| i32::from(u16::from_be_bytes(b)))
    })?;
    linker.func_wrap(m, "pkt_u32", |c: Caller<'_, State>, off: i32| {
        pkt_bytes::<4>(&c, off).map(i32::from_be_bytes)
    })?;
    linker.func_wrap(m, "pkt_u64", |c: Caller<'_, State>, off: i32| {
        pkt_bytes::<8>(&c, off).map(i64::from_be_bytes)
    })?;
    linker.func_wrap(
        m,
        "pkt_read",
        |mut c: Caller<'_, State>, off: i32, dst: i32, len: i32| -> HostResult<i32> {
            let off = offset(off)?;
            let (mem, state) = memory_of(&mut c)?;
            let n = state.packet.len().saturating_sub(off).min(offset(len)?);
            let dst = range(dst, n, mem.len())?;
            // n is 0 when `off` is at or past the end: nothing to copy.
            if n > 0 {
                mem[dst].copy_from_slice(&state.packet[off..off + n]);
            }
            Ok(n as i32)
        },
    )?;
    linker.func_wrap(
        m,
        "ctx",
        |c: Caller<'_, State>, field: i32| -> HostResult<i64> {
            use abi::ctx_field as f;
            let s = c.data();
            let pkt = s.packet.as_slice();
            let info = || PktInfo::encode(PktInfo::parse(&pkt, s.ctx.family).as_ref());
            Ok(match field {
                f::LEN => pkt.len() as i64,
                f::HOOK => i64::from(s.ctx.hook as u32),
                f::FAMILY => i64::from(s.ctx.family as u32),
                f::IIF => i64::from(s.ctx.iif),
                f::OIF => i64::from(s.ctx.oif),
                f::MARK => i64::from(s.ctx.mark),
                f::TSTAMP_NS => s.ctx.tstamp_ns as i64,
                f::L4 => info().0 as i64,
                f::PORTS => i64::from(info().1),
                _ => return trap(TrapKind::BadHostCall),
            })
        },
    )?;
    linker.func_wrap(
        m,
        "config_get",
        |mut c: Caller<'_, State>, key: i32, key_len: i32, dst: i32, cap: i32| -> HostResult<i32> {
            let (mem, _) = memory_of(&mut c)?;
            let key_len = offset(key_len)?;
            let key = range(key, key_len, mem.len())?;
            let key = &mem[key];
            let value = CONFIG.iter().find_map(|e| {
                let (k, v) = e.split_once('=')?;
                (k.as_bytes() == key).then_some(v.as_bytes())
            });
            let Some(value) = value else {
                return Ok(-1);
            };
            let n = value.len().min(offset(cap)?);
            let dst = range(dst, n, mem.len())?;
            mem[dst].copy_from_slice(&value[..n]);
            Ok(value.len() as i32)
        },
    )?;
    linker.func_wrap(
        m,
        "set_error",
        |mut c: Caller<'_, State>, ptr: i32, len: i32| -> HostResult<()> {
            let (mem, _) = memory_of(&mut c)?;
            let len = offset(len)?;
            range(ptr, len, mem.len()).map(drop)
        },
    )?;
    // The generated modules declare no maps (no `wasmnf.maps` section), so
    // every id a map import gets is undeclared: the ABI's trap, before any
    // argument is looked at (docs/abi.md "Maps").
    linker.func_wrap(
        m,
        "map_lookup",
        |_: Caller<'_, State>, _: i32, _: i32, _: i32| -> HostResult<i32> {
            trap(TrapKind::NoSuchMap)
        },
    )?;
    linker.func_wrap(
        m,
        "map_update",
        |_: Caller<'_, State>, _: i32, _: i32, _: i32, _: i32| -> HostResult<i32> {
            trap(TrapKind::NoSuchMap)
        },
    )?;
    linker.func_wrap(
        m,
        "map_delete",
        |_: Caller<'_, State>, _: i32, _: i32| -> HostResult<i32> { trap(TrapKind::NoSuchMap) },
    )?;
    linker.func_wrap(
        m,
        "map_add",
        |_: Caller<'_, State>, _: i32, _: i32, _: i32, _: i64| -> HostResult<i32> {
            trap(TrapKind::NoSuchMap)
        },
    )?;
    linker.func_wrap(
        m,
        "map_lookup_pkt",
        |_: Caller<'_, State>, _: i32, _: i32, _: i32| -> HostResult<i32> {
            trap(TrapKind::NoSuchMap)
        },
    )?;
    Ok(())
}

fn outcome(result: wasmtime::Result<i32>) -> Outcome {
    let err = match result {
        Ok(v) => return Outcome::Returned(v),
        Err(e) => e,
    };
    if let Some(HostErr(kind)) = err.downcast_ref::<HostErr>() {
        return Outcome::Trap(*kind);
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow | Trap::OutOfFuel) => Outcome::Resource,
        Some(Trap::MemoryOutOfBounds | Trap::HeapMisaligned) => {
            Outcome::Trap(TrapKind::MemoryOutOfBounds)
        }
        Some(Trap::TableOutOfBounds | Trap::IndirectCallToNull | Trap::BadSignature) => {
            Outcome::Trap(TrapKind::Table)
        }
        Some(Trap::IntegerOverflow | Trap::IntegerDivisionByZero) => {
            Outcome::Trap(TrapKind::Arithmetic)
        }
        Some(Trap::UnreachableCodeReached) => Outcome::Trap(TrapKind::Unreachable),
        _ => Outcome::Trap(TrapKind::Other),
    }
}

/// Runs `wasm` over [`packets`] on wasmtime, with the engine's default
/// memory and table limits.
pub fn run(wasm: &[u8]) -> Trace {
    let engine = engine();
    let module = match Module::new(engine, wasm) {
        Ok(m) => m,
        Err(e) => return Trace::Invalid(format!("{e:#}")),
    };
    let limits = StoreLimitsBuilder::new()
        .memory_size(abi::limits::MEMORY_PAGES_DEFAULT as usize * 65536)
        .table_elements(abi::limits::TABLE_ELEMENTS_MAX as usize)
        .build();
    let mut store = Store::new(
        engine,
        State {
            packet: Vec::new(),
            ctx: Ctx::default(),
            limits,
            memory: None,
        },
    );
    store.limiter(|s| &mut s.limits);
    let mut linker = Linker::new(engine);
    define(&mut linker).expect("imports");
    store.set_fuel(u64::MAX / 2).expect("fuel");
    let instance: Instance = match linker.instantiate(&mut store, &module) {
        Ok(i) => i,
        Err(e) => return Trace::Uninstantiable(format!("{e:#}")),
    };
    let memory = match instance.get_export(&mut store, abi::EXPORT_MEMORY) {
        Some(Extern::Memory(m)) => Some(m),
        _ => None,
    };
    store.data_mut().memory = memory;
    if let Ok(init) = instance.get_typed_func::<(), i32>(&mut store, abi::EXPORT_INIT) {
        store.set_fuel(abi::limits::FUEL_MAX * 4).expect("fuel");
        match init.call(&mut store, ()) {
            Ok(0) => {}
            Ok(code) => return Trace::Uninstantiable(format!("init returned {code}")),
            Err(e) => return Trace::Uninstantiable(format!("init: {e:#}")),
        }
    }
    let filter = match instance.get_typed_func::<i32, i32>(&mut store, abi::EXPORT_FILTER) {
        Ok(f) => f,
        Err(e) => return Trace::Uninstantiable(format!("{e:#}")),
    };
    let mut trace = Vec::new();
    for (pkt, ctx) in packets() {
        let len = pkt.len() as i32;
        store.data_mut().packet = pkt;
        store.data_mut().ctx = ctx;
        // A per-run budget as the engine gives (its FUEL_MAX); wasmtime counts
        // differently, so running out is a resource stop, not compared.
        store.set_fuel(abi::limits::FUEL_MAX * 4).expect("fuel");
        let o = outcome(filter.call(&mut store, len));
        trace.push(o);
        if o == Outcome::Resource {
            break;
        }
    }
    Trace::Ran(trace)
}
