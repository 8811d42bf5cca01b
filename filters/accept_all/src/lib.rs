//! Accepts every packet. Reads nothing (no staging window): the cost of an
//! empty filter call, for benchmarks.
#![no_std]
use wasmnf_sdk::{entry, Packet, Verdict};

fn filter(_: &Packet) -> Verdict {
    Verdict::Accept
}

entry!(filter);
