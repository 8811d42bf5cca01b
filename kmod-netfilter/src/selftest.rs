// SPDX-License-Identifier: GPL-2.0

//! The load-time self-test: the engine, linked into this module, runs the
//! built-in filters on a few packets in kernel context. Every run is logged
//! (`wasmnf: selftest <filter> pkt=<packet> verdict=<v> status=<s>`) and
//! checked; a mismatch fails the module load. The stack the engine uses per
//! run is measured by stack painting and reported.

use crate::contract::ffi::{refusal, status, verdict};
use crate::engine_ffi::{self, Ctx, EngineFilter, EngineInstance, FilterOptions, SelftestFilter};
use crate::{altstack, stackprobe};
use kernel::prelude::*;

/// IPv4 + UDP, 10.0.0.1:12345 -> 10.0.0.2:8080.
const UDP_8080: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0,
    2, //
    0x30, 0x39, 0x1f, 0x90, 0x00, 0x08, 0x00, 0x00,
];
/// IPv4 + UDP, 10.0.0.1:12345 -> 10.0.0.2:53.
const UDP_53: [u8; 28] = [
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0,
    2, //
    0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00,
];
/// IPv4 + TCP SYN, 10.0.0.1:12345 -> 10.0.0.2:8080.
const TCP_8080: [u8; 40] = [
    0x45, 0x00, 0x00, 0x28, 0x00, 0x03, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0,
    2, //
    0x30, 0x39, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0,
];
/// Three bytes: too short for the filter's reads, which trap.
const SHORT: [u8; 3] = [0x45, 0x00, 0x00];

struct Case {
    filter: SelftestFilter,
    filter_name: &'static str,
    pkt_name: &'static str,
    pkt: &'static [u8],
    /// The netfilter verdict (`contract::ffi::verdict`).
    verdict: u32,
    /// The status code (`contract::ffi::status`).
    status: u32,
}

const CASES: [Case; 6] = [
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: verdict::DROP,
        status: status::OK,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "udp:53",
        pkt: &UDP_53,
        verdict: verdict::ACCEPT,
        status: status::OK,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "tcp:8080",
        pkt: &TCP_8080,
        verdict: verdict::ACCEPT,
        status: status::OK,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "short",
        pkt: &SHORT,
        verdict: verdict::ACCEPT,
        status: status::TRAP,
    },
    Case {
        filter: SelftestFilter::Spin,
        filter_name: "spin",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: verdict::ACCEPT,
        status: status::OUT_OF_FUEL,
    },
    Case {
        filter: SelftestFilter::Hostcalls,
        filter_name: "hostcalls",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: verdict::ACCEPT,
        status: status::OK,
    },
];

/// The self-test's load options: the engine's default budget and memory,
/// fail open, no configuration.
const OPTIONS: FilterOptions<'static> = FilterOptions {
    fuel: 0,
    memory_pages: 0,
    fail_closed: false,
    config: &[],
    map_memory: 0,
    cpus: 1,
    keep: None,
};

fn verdict_name(v: u32) -> &'static str {
    if v == verdict::DROP {
        "drop"
    } else {
        "accept"
    }
}

/// Runs the self-test; `Err(EINVAL)` if any run did not give the expected
/// verdict and status, or a filter did not load.
pub(crate) fn run() -> Result {
    let mut failures = 0u32;
    let mut max_stack = 0usize;
    let mut max_load_stack = 0usize;
    let mut stack_unknown = false;
    let mut current: Option<(SelftestFilter, EngineInstance, EngineFilter)> = None;
    for case in CASES.iter() {
        let reuse = matches!(&current, Some((f, _, _)) if *f as u32 == case.filter as u32);
        if !reuse {
            // Free the previous filter before loading the next.
            drop(current.take());
            let (filter, load_stack) = altstack::run(|| {
                EngineFilter::new(engine_ffi::selftest_wasm(case.filter), &OPTIONS)
            })?;
            max_load_stack = max_load_stack.max(load_stack);
            let filter = match filter {
                Ok(f) => f,
                Err(e) => {
                    pr_err!(
                        "selftest {}: filter refused: {}\n",
                        case.filter_name,
                        e.message()
                    );
                    return Err(EINVAL);
                }
            };
            let (inst, load_stack) = altstack::run(|| filter.instantiate(0))?;
            max_load_stack = max_load_stack.max(load_stack);
            let inst = match inst {
                Ok(i) => i,
                Err(e) => {
                    pr_err!(
                        "selftest {}: instantiate failed: {}\n",
                        case.filter_name,
                        e.message()
                    );
                    return Err(EINVAL);
                }
            };
            current = Some((case.filter, inst, filter));
        }
        let Some((_, inst, _)) = current.as_ref() else {
            return Err(EINVAL);
        };
        let ctx = Ctx {
            hook: 0,
            family: 2,
            ..Ctx::default()
        };
        let (result, stack) = stackprobe::measure(|| inst.run_linear(case.pkt, &ctx));
        match stack {
            Some(bytes) => max_stack = max_stack.max(bytes),
            None => stack_unknown = true,
        }
        let ok = result.status == case.status && result.verdict == case.verdict;
        pr_info!(
            "selftest {} pkt={} verdict={} status={} stack={} {}\n",
            case.filter_name,
            case.pkt_name,
            verdict_name(result.verdict),
            result.status_text(),
            stack.unwrap_or(0),
            if ok { "ok" } else { "MISMATCH" }
        );
        if !ok {
            failures += 1;
        }
    }
    drop(current);
    // The engine has one tier: a valid module outside it is refused by
    // name at load, never run by something else.
    match altstack::run(|| {
        EngineFilter::new(
            engine_ffi::selftest_wasm(SelftestFilter::Unsupported),
            &OPTIONS,
        )
    })? {
        (Err(e), _) if e.code() == refusal::UNSUPPORTED => {
            pr_info!("selftest unsupported: refused: {}\n", e.message());
        }
        (Err(e), _) => {
            pr_err!(
                "selftest unsupported: refused for another reason: {}\n",
                e.message()
            );
            failures += 1;
        }
        (Ok(_), _) => {
            pr_err!("selftest unsupported: loaded, but the engine must refuse it\n");
            failures += 1;
        }
    }
    if stack_unknown {
        pr_warn!("selftest: the stack probe could not measure every run\n");
    }
    pr_info!(
        "selftest engine stack max={} bytes (packet path)\n",
        max_stack
    );
    pr_info!(
        "selftest engine load stack max={} bytes of the {} KiB load stack (filter_new, instantiate)\n",
        max_load_stack,
        altstack::SIZE / 1024
    );
    if failures > 0 {
        pr_err!("selftest FAILED: {} of {} runs\n", failures, CASES.len());
        return Err(EINVAL);
    }
    pr_info!("selftest passed ({} runs)\n", CASES.len());
    Ok(())
}
