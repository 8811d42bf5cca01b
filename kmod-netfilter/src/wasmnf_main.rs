// SPDX-License-Identifier: GPL-2.0

//! wasmnf: programmable packet filtering where the program is WebAssembly.
//!
//! This is the module's skeleton (issue 4): it links the engine, runs the
//! engine self-test at load, and registers one pass-through IPv4
//! PRE_ROUTING hook in the initial namespace that counts packets, which
//! proves the module-local netfilter and skb bindings. Filters attached from
//! userspace come with the control and data planes.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

mod altstack;
mod bindings;
mod engine;
mod net;
mod selftest;
mod stackprobe;

use net::netfilter::{Family, Hook, HookPoint, Registration, Verdict};
use net::skb::SkBuff;

module! {
    type: WasmNf,
    name: "wasmnf",
    author: "The wasmnf authors",
    description: "Programmable packet filtering with WebAssembly",
    license: "GPL",
}

/// Counts what the pass-through hook sees.
#[derive(Default)]
struct PacketCounter {
    packets: AtomicU64,
    ipv4: AtomicU64,
}

impl Hook for PacketCounter {
    fn hook(&self, skb: &SkBuff) -> Verdict {
        self.packets.fetch_add(1, Ordering::Relaxed);
        // At PRE_ROUTING the skb starts at the network header.
        let mut first = [0u8; 1];
        if skb.len() >= 20 && skb.copy_to(0, &mut first) && first[0] >> 4 == 4 {
            self.ipv4.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Accept
    }
}

struct WasmNf {
    counter: Option<Registration<PacketCounter>>,
}

impl kernel::Module for WasmNf {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        selftest::run()?;
        let counter = Registration::new_init_net(
            Family::Ipv4,
            HookPoint::PreRouting,
            0,
            PacketCounter::default(),
        )?;
        pr_info!("counting hook registered (ipv4 prerouting, init_net)\n");
        pr_info!("loaded (abi {})\n", engine::abi_version());
        Ok(WasmNf {
            counter: Some(counter),
        })
    }
}

impl Drop for WasmNf {
    fn drop(&mut self) {
        if let Some(reg) = self.counter.take() {
            let packets = reg.data().packets.load(Ordering::Relaxed);
            let ipv4 = reg.data().ipv4.load(Ordering::Relaxed);
            drop(reg);
            pr_info!("counting hook saw {} packets ({} ipv4)\n", packets, ipv4);
        }
        pr_info!("unloaded\n");
    }
}
