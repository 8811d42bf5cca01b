//! Drops every packet. For benchmarks and drop-path tests.
#![no_std]
use wasmnf_sdk::{entry, Packet, Verdict};

fn filter(_: &Packet) -> Verdict {
    Verdict::Drop
}

entry!(filter);
