// SPDX-License-Identifier: GPL-2.0

//! wasmnf: programmable packet filtering where the program is WebAssembly.
//!
//! At load the module runs the engine self-test, then registers the
//! per-namespace registry's pernet operations and the `wasmnf`
//! generic-netlink family (`control`). Filters loaded through it become
//! netfilter hooks in the caller's namespace (`registry`, `dataplane`).
//! Unloading the module unregisters the family, then removes every
//! namespace's filters.

use kernel::prelude::*;

mod altstack;
mod bindings;
mod contract;
mod control;
mod dataplane;
mod engine_ffi;
mod mapctl;
mod net;
mod registry;
mod selftest;
mod stackprobe;

use net::netns::{Net, PernetExit, PernetRegistration};

/// Flags for the allocations made to answer a user's request (a load, a map
/// command), in process context: `GFP_KERNEL` without the allocator's
/// failure warning. A failure is that request's ENOMEM, with its own
/// message to the user, not a stack dump in the kernel log
/// (tests/vm/fault_inject.sh fails each of a load's allocations in turn).
pub(crate) fn gfp_request() -> kernel::alloc::Flags {
    GFP_KERNEL | kernel::alloc::flags::__GFP_NOWARN
}

module! {
    type: WasmNf,
    name: "wasmnf",
    author: "The wasmnf authors",
    description: "Programmable packet filtering with WebAssembly",
    license: "GPL",
}

/// A namespace going away takes its filters with it.
struct NetExit;

impl PernetExit for NetExit {
    fn exit(net: &Net) {
        registry::with(|r| r.exit_net(net));
    }
}

/// Fields drop in declaration order: the family first (no new requests),
/// then the pernet operations (whose exit, run for every namespace,
/// removes all filters), then the registry itself.
struct WasmNf {
    /// `/sys/kernel/debug/fail_wasmnf_alloc` while the module is loaded
    /// (its attribute is static: a load running after it is gone is fine).
    _faults: engine_ffi::FaultInjection,
    _family: control::Family_,
    _pernet: PernetRegistration<NetExit>,
    _registry: registry::RegistryHandle,
}

impl kernel::Module for WasmNf {
    fn init(module: &'static ThisModule) -> Result<Self> {
        selftest::run()?;
        // SAFETY: (1) `REGISTRY.install`: the registry's owner (`_registry`)
        // is the last field of `WasmNf`, so it is dropped after the
        // genetlink family and the pernet operations, whose callbacks are
        // the only callers of `registry::with`; unregistering each waits for
        // running callbacks. On an error below, the family and pernet
        // operations registered so far are dropped before `registry`, in
        // reverse order of creation. (2) `NetScope::new`: every hook
        // registration the registry makes stays in its entries until unload,
        // or `exit_net` for its namespace, which `NetExit` (the pernet exit,
        // run for each namespace before it is freed and for every namespace
        // when the pernet operations are unregistered at module unload)
        // calls; the owner's drop removes anything left.
        let registry = registry::RegistryHandle::new(unsafe {
            registry::REGISTRY.install(registry::Registry::new(net::netfilter::NetScope::new()))
        }?);
        let pernet = PernetRegistration::<NetExit>::new()?;
        let family = control::register(module)?;
        pr_info!(
            "genetlink family wasmnf registered (version {})\n",
            contract::genl::FAMILY_VERSION
        );
        pr_info!("loaded (abi {})\n", engine_ffi::abi_version());
        Ok(WasmNf {
            _faults: engine_ffi::FaultInjection::new(),
            _family: family,
            _pernet: pernet,
            _registry: registry,
        })
    }
}

impl Drop for WasmNf {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
