// SPDX-License-Identifier: GPL-2.0

//! The registry of loaded filters, per network namespace.
//!
//! One mutex (control plane only: the packet path never takes it) guards
//! every namespace's filters, each keyed by its namespace and name. A
//! filter is a netfilter hook registration in its namespace whose `priv` is
//! the filter's [`Slot`]. The pernet exit of a namespace removes its
//! filters (unregistering their hooks) before the namespace is freed, and
//! unloading the module runs that exit for every namespace, so nothing
//! outlives the module.
//!
//! Loading with `REPLACE` under an existing name:
//! - same hook, family and priority: the new runtime is swapped in place
//!   with RCU ([`Slot::replace`]): every packet is filtered by the old or
//!   the new filter, none by neither;
//! - different hook, family or priority: "make before break": the new
//!   filter's hook is registered first, then the old one unregistered, so
//!   for an instant a packet may meet both (never neither).
//!
//! Counters start from zero for the new filter either way.

use crate::altstack;
use crate::contract::counters::Counters;
use crate::contract::genl::{valid_name, NAME_MAX};
use crate::contract::maps::Decl;
use crate::dataplane::{LoadFailure, Runtime, Slot};
use crate::engine_ffi::{self, EngineError, EngineFilter, FilterOptions};
use crate::net::netfilter::{Family, HookPoint, NetScope, Registration};
use crate::net::netns::{Net, NetKey};
use crate::net::sync::{GlobalMutex, GlobalOwner, ReadSide};
use core::ffi::CStr;
use kernel::prelude::*;

/// A filter name: 1 to 31 bytes of `[A-Za-z0-9_.-]`, NUL-terminated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name([u8; NAME_MAX + 1]);

impl Name {
    /// Checks a name (without NUL).
    pub(crate) fn new(s: &[u8]) -> Option<Name> {
        if !valid_name(s) {
            return None;
        }
        let mut b = [0u8; NAME_MAX + 1];
        b[..s.len()].copy_from_slice(s);
        Some(Name(b))
    }

    /// As a C string.
    pub(crate) fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }

    /// As text.
    pub(crate) fn as_str(&self) -> &str {
        self.as_cstr().to_str().unwrap_or("")
    }
}

/// How a filter was loaded.
pub(crate) struct Settings {
    pub(crate) name: Name,
    pub(crate) hook: HookPoint,
    pub(crate) family: Family,
    pub(crate) priority: i32,
    pub(crate) fuel: u64,
    pub(crate) memory_pages: u32,
    pub(crate) fail_closed: bool,
    pub(crate) config: KVec<u8>,
    pub(crate) wasm_size: u32,
    /// Bytes the filter's maps may take (0: the engine's default).
    pub(crate) map_memory: u64,
}

/// What a GET shows for one filter.
pub(crate) struct FilterInfo<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) instances: usize,
    pub(crate) counters: Counters,
    /// Its maps: the count, and the bytes they take together.
    pub(crate) maps: u32,
    pub(crate) map_bytes: u64,
}

struct Entry {
    net: NetKey,
    settings: Settings,
    reg: Registration<Slot>,
}

impl Entry {
    fn info(&self) -> FilterInfo<'_> {
        let (instances, counters, maps, map_bytes) = self.reg.data().with_runtime(|rt| {
            let f = rt.filter();
            (rt.instances(), rt.counters(), f.map_count(), f.map_bytes())
        });
        FilterInfo {
            settings: &self.settings,
            instances,
            counters,
            maps,
            map_bytes,
        }
    }
}

/// Why a load, unload or lookup failed; the control plane turns each into
/// an errno and an extended-ack message.
pub(crate) enum RegistryError {
    /// A filter of that name exists and `REPLACE` was not given.
    Exists,
    /// No filter of that name.
    NotFound,
    /// The engine refused the module (its class and message).
    Engine(EngineError),
    /// Out of memory.
    NoMemory,
    /// Registering the netfilter hook failed.
    Hook(Error),
    /// The load stack could not be allocated.
    Stack(Error),
    /// Filling the maps from the request failed (the extended ack is set).
    Prefill(Error),
    /// The namespace's filters' maps would take `needed` bytes, over
    /// `limit` ([`net_map_memory_max`]); `map` is the new filter's largest
    /// map, the one to shrink.
    NetMapMemory {
        needed: u64,
        limit: u64,
        map: MapName,
    },
}

/// A map's name, copied out of its declaration (at most 31 bytes).
pub(crate) struct MapName {
    bytes: [u8; 31],
    len: usize,
}

impl MapName {
    fn of(name: &str) -> MapName {
        let mut out = MapName {
            bytes: [0; 31],
            len: 0,
        };
        for (d, s) in out.bytes.iter_mut().zip(name.bytes()) {
            *d = s;
            out.len += 1;
        }
        out
    }

    /// The name (a map name is ASCII: [`Decl::decode`] checks it).
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or("?")
    }
}

/// The most bytes the maps of one namespace's filters may take together:
/// the module parameter `map_memory_max` (default
/// [`crate::contract::genl::NET_MAP_MEMORY_MAX`]).
pub(crate) fn net_map_memory_max() -> u64 {
    // SAFETY: reads a module parameter, which is read-only once the module
    // is loaded (mode 0444), so there is no concurrent writer.
    let v = unsafe { crate::bindings::wasmnf_helper_map_memory_max() };
    // `unsigned long` is `usize` in the kernel's bindings: 64 bits here.
    v as u64
}

/// The largest map of `filter` by memory, and its name.
fn largest_map(filter: &EngineFilter) -> MapName {
    let largest = (0..filter.map_count())
        .filter_map(|id| filter.map(id).and_then(|m| filter.map_info(m)))
        .max_by_key(|i| i.bytes);
    let decl = largest.and_then(|i| Decl::decode(&i.decl).ok());
    MapName::of(decl.as_ref().map_or("?", |d| d.name()))
}

/// Every namespace's filters.
pub(crate) struct Registry {
    /// Filters; `None` marks a freed place, reused by the next load.
    entries: KVec<Option<Entry>>,
    /// Changes on every load, replace and unload (dump consistency).
    generation: u32,
    /// Every hook registration lives in `entries`, which `unload`,
    /// `exit_net` (from each namespace's pernet exit) and the owner's drop
    /// at module unload empty: the evidence `Registration::new` asks for.
    scope: NetScope,
}

impl Registry {
    /// An empty registry; `scope` is the module's promise that this
    /// registry's `exit_net` runs from every namespace's pernet exit and
    /// that it is emptied before the module goes (`wasmnf_main.rs`).
    pub(crate) fn new(scope: NetScope) -> Self {
        Registry {
            entries: KVec::new(),
            generation: 1,
            scope,
        }
    }

    fn find(&self, net: NetKey, name: &Name) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.as_ref()
                .is_some_and(|e| e.net == net && e.settings.name == *name)
        })
    }

    /// The generation, for dump consistency checks.
    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1).max(1);
    }

    /// Loads (or, with `replace`, replaces) a filter in `net`: checks and
    /// compiles the module in the kernel (on the 64 KiB load stack, with
    /// sleeping allocations), builds one instance per possible CPU, and
    /// fills its maps (`prefill`), and attaches it; a replacing filter keeps
    /// the maps of the one it replaces that carry over, unless `keep_maps`
    /// is false. Returns how many maps were kept. Process context.
    pub(crate) fn load(
        &mut self,
        net: &Net,
        settings: Settings,
        wasm: &[u8],
        replace: bool,
        keep_maps: bool,
        prefill: impl FnOnce(&Runtime) -> Result,
    ) -> Result<u32, RegistryError> {
        let existing = self.find(net.key(), &settings.name);
        if existing.is_some() && !replace {
            return Err(RegistryError::Exists);
        }
        // The replaced filter's maps, held (one reference, taken in an RCU
        // section without allocating) until the new filter is made: those
        // that carry over are shared with it.
        let keep = match existing.and_then(|i| self.entries[i].as_ref()) {
            Some(e) if keep_maps => e.reg.data().with_runtime(|rt| rt.filter().share_maps()),
            _ => None,
        };
        let opts = FilterOptions {
            fuel: settings.fuel,
            memory_pages: settings.memory_pages,
            fail_closed: settings.fail_closed,
            config: &settings.config,
            map_memory: settings.map_memory,
            cpus: crate::net::cpu::nr_cpu_ids() as u32,
            keep: keep.as_ref(),
        };
        let (built, _stack) = altstack::run(|| {
            engine_ffi::with_load_allocations(|| {
                let filter = EngineFilter::new(wasm, &opts).map_err(LoadFailure::Engine)?;
                Runtime::new(filter)
            })
        })
        .map_err(RegistryError::Stack)?;
        let rt = built.map_err(|e| match e {
            LoadFailure::Engine(e) => RegistryError::Engine(e),
            LoadFailure::NoMemory => RegistryError::NoMemory,
        })?;
        let kept = keep.as_ref().map_or(0, |k| rt.filter().maps_kept(k));
        drop(keep);
        // The namespace's maps: the other filters' and the new one's (a
        // replaced filter's go with it; kept maps count once, here).
        let others: u64 = self
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != existing)
            .filter_map(|(_, e)| e.as_ref())
            .filter(|e| e.net == net.key())
            .map(|e| e.reg.data().with_runtime(|rt| rt.filter().map_bytes()))
            .sum();
        let needed = others.saturating_add(rt.filter().map_bytes());
        let limit = net_map_memory_max();
        if needed > limit {
            return Err(RegistryError::NetMapMemory {
                needed,
                limit,
                map: largest_map(rt.filter()),
            });
        }
        // The maps are filled before any packet can reach the filter.
        prefill(&rt).map_err(RegistryError::Prefill)?;
        let rt = KBox::new(rt, crate::gfp_request()).map_err(|_| RegistryError::NoMemory)?;
        if let Some(e) = existing.and_then(|i| self.entries[i].as_mut()) {
            let s = &e.settings;
            if (s.hook, s.family, s.priority) == (settings.hook, settings.family, settings.priority)
            {
                e.reg.data().replace(rt);
                e.settings = settings;
                self.bump();
                return Ok(kept);
            }
        }
        // The registration lives in `self.entries` until `unload`, or
        // `exit_net` for this namespace (its pernet exit), or the owner's
        // drop: `self.scope`.
        let reg = Registration::new(
            net,
            settings.family,
            settings.hook,
            settings.priority,
            Slot::new(rt),
            &self.scope,
        )
        .map_err(RegistryError::Hook)?;
        let entry = Entry {
            net: net.key(),
            settings,
            reg,
        };
        let free = existing.or_else(|| self.entries.iter().position(Option::is_none));
        match free {
            // Make before break: an old hook goes when its entry is dropped.
            Some(i) => drop(self.entries[i].replace(entry)),
            None => self
                .entries
                .push(Some(entry), crate::gfp_request())
                .map_err(|_| RegistryError::NoMemory)?,
        }
        self.bump();
        Ok(kept)
    }

    /// Unloads the filter `name` of `net`.
    pub(crate) fn unload(&mut self, net: &Net, name: &Name) -> Result<(), RegistryError> {
        let i = self.find(net.key(), name).ok_or(RegistryError::NotFound)?;
        drop(self.entries[i].take());
        self.bump();
        Ok(())
    }

    /// The filter `name` of `net`.
    pub(crate) fn get(&self, net: &Net, name: &Name) -> Result<FilterInfo<'_>, RegistryError> {
        let i = self.find(net.key(), name).ok_or(RegistryError::NotFound)?;
        self.entries[i]
            .as_ref()
            .map(Entry::info)
            .ok_or(RegistryError::NotFound)
    }

    /// Runs `f` on the runtime of filter `name` of `net`, inside an RCU
    /// read-side section (`f` must not sleep). The registry's lock is held
    /// meanwhile, so no load, replace or unload changes the filter between
    /// two calls made under one [`with`].
    pub(crate) fn with_runtime<R>(
        &self,
        net: &Net,
        name: &Name,
        f: impl FnOnce(&Runtime, &ReadSide<'_>) -> R,
    ) -> Result<R, RegistryError> {
        let i = self.find(net.key(), name).ok_or(RegistryError::NotFound)?;
        let e = self.entries[i].as_ref().ok_or(RegistryError::NotFound)?;
        Ok(e.reg.data().with_runtime_side(f))
    }

    /// The filters of `net`, in load order, from the `skip`-th on.
    pub(crate) fn list(&self, net: &Net, skip: usize) -> impl Iterator<Item = FilterInfo<'_>> {
        let key = net.key();
        self.entries
            .iter()
            .flatten()
            .filter(move |e| e.net == key)
            .skip(skip)
            .map(Entry::info)
    }

    /// Removes every filter of `net` (its pernet exit, or module unload).
    pub(crate) fn exit_net(&mut self, net: &Net) {
        let key = net.key();
        let mut removed = false;
        for slot in self.entries.iter_mut() {
            if slot.as_ref().is_some_and(|e| e.net == key) {
                drop(slot.take());
                removed = true;
            }
        }
        if removed {
            self.bump();
        }
    }
}

/// The registry, installed by module init (`wasmnf_main.rs`), which owns
/// it through a [`RegistryHandle`]; callbacks reach it through [`with`].
pub(crate) static REGISTRY: GlobalMutex<Registry> = GlobalMutex::new();

/// Owns the registry for the module's lifetime.
pub(crate) struct RegistryHandle {
    owner: GlobalOwner<Registry>,
}

impl RegistryHandle {
    /// Takes ownership of the installed registry.
    pub(crate) fn new(owner: GlobalOwner<Registry>) -> Self {
        RegistryHandle { owner }
    }
}

impl Drop for RegistryHandle {
    fn drop(&mut self) {
        // Normally empty by now (the pernet exits ran); drop what is left.
        // The global is emptied when `owner` drops, after this.
        self.owner.with_locked(|reg| {
            for slot in reg.entries.iter_mut() {
                drop(slot.take());
            }
        });
    }
}

/// Runs `f` with the registry locked. Process context (may sleep). `None`
/// before module init finished or after exit began.
pub(crate) fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> Option<R> {
    REGISTRY.with(f)
}
