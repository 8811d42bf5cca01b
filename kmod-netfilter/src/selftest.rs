// SPDX-License-Identifier: GPL-2.0

//! The load-time self-test: the engine, linked into this module, runs the
//! built-in filters on a few packets in kernel context. Every run is logged
//! (`wasmnf: selftest <filter> pkt=<packet> verdict=<v> status=<s>`) and
//! checked; a mismatch fails the module load. The stack the engine uses per
//! run is measured by stack painting and reported.

use crate::engine::{self, Ctx, Filter, SelftestFilter, Status, Verdict};
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Trap,
    OutOfFuel,
}

struct Case {
    filter: SelftestFilter,
    filter_name: &'static str,
    pkt_name: &'static str,
    pkt: &'static [u8],
    verdict: Verdict,
    status: Expect,
}

const CASES: [Case; 6] = [
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: Verdict::Drop,
        status: Expect::Ok,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "udp:53",
        pkt: &UDP_53,
        verdict: Verdict::Accept,
        status: Expect::Ok,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "tcp:8080",
        pkt: &TCP_8080,
        verdict: Verdict::Accept,
        status: Expect::Ok,
    },
    Case {
        filter: SelftestFilter::DropUdp8080,
        filter_name: "drop_udp_8080",
        pkt_name: "short",
        pkt: &SHORT,
        verdict: Verdict::Accept,
        status: Expect::Trap,
    },
    Case {
        filter: SelftestFilter::Spin,
        filter_name: "spin",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: Verdict::Accept,
        status: Expect::OutOfFuel,
    },
    Case {
        filter: SelftestFilter::Hostcalls,
        filter_name: "hostcalls",
        pkt_name: "udp:8080",
        pkt: &UDP_8080,
        verdict: Verdict::Accept,
        status: Expect::Ok,
    },
];

/// Fuel per run for the self-test (the engine's default budget).
const FUEL: u64 = 0;

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Accept => "accept",
        Verdict::Drop => "drop",
    }
}

/// Runs the self-test; `Err(EINVAL)` if any run did not give the expected
/// verdict and status, or a filter did not load.
pub(crate) fn run() -> Result {
    let mut failures = 0u32;
    let mut max_stack = 0usize;
    let mut max_load_stack = 0usize;
    let mut stack_unknown = false;
    let mut current: Option<(SelftestFilter, engine::Instance, Filter)> = None;
    for case in CASES.iter() {
        let reuse = matches!(&current, Some((f, _, _)) if *f as u32 == case.filter as u32);
        if !reuse {
            // Free the previous filter before loading the next.
            drop(current.take());
            let (filter, load_stack) =
                altstack::run(|| Filter::new(engine::selftest_wasm(case.filter), FUEL, false))?;
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
            let (inst, load_stack) = altstack::run(|| filter.instantiate())?;
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
        let Some((_, inst, _)) = current.as_mut() else {
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
        let status_ok = match (case.status, result.status()) {
            (Expect::Ok, Status::Ok) => true,
            (Expect::Trap, Status::Trap(_)) => true,
            (Expect::OutOfFuel, Status::OutOfFuel) => true,
            _ => false,
        };
        let ok = status_ok && result.verdict() == case.verdict;
        let mut buf = [0u8; 96];
        pr_info!(
            "selftest {} pkt={} verdict={} status={} stack={} {}\n",
            case.filter_name,
            case.pkt_name,
            verdict_name(result.verdict()),
            result.describe(&mut buf),
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
        Filter::new(
            engine::selftest_wasm(SelftestFilter::Unsupported),
            FUEL,
            false,
        )
    })? {
        (Err(e), _) if e.message().contains("the engine does not run") => {
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
