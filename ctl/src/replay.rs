//! Replay: every IP frame of a capture through one filter instance, the same
//! engine the kernel runs, timed over packets already in memory.

use crate::capture::Frames;
use crate::counters::CounterFields;
use serde::Serialize;
use std::time::Instant;
use wasmnf_engine::{Counters, Ctx, GracePeriod, Hook, Instance, Maps, Verdict};

/// What a replay saw.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Frames in the capture.
    pub frames: u64,
    /// Frames that are not IPv4/IPv6: no IP hook sees them, so they are
    /// neither run nor filtered (they count as passed in the outputs).
    pub not_ip: u64,
    /// The first pass's counters (every one but the time: replay times
    /// all passes itself, below), as JSON fields `packets`, `accepted`, ...
    #[serde(flatten)]
    pub counters: CounterFields,
    /// Passes over the capture.
    pub repeat: u32,
    /// Mean time per packet over all passes, in nanoseconds.
    pub ns_per_packet: f64,
    /// Millions of packets per second over all passes.
    pub mpps: f64,
    /// The engine that ran the filter: `fast` or `wasmi`.
    pub engine: &'static str,
}

/// The IP packets of a capture as a hook sees them, with their contexts,
/// laid out once after loading (before any timing): what [`run`] replays.
pub struct Packets<'a> {
    frames: usize,
    /// (frame index, packet from its network header, context)
    list: Vec<(usize, &'a [u8], Ctx)>,
}

impl<'a> Packets<'a> {
    /// The IP packets of `frames` at `hook`.
    pub fn new(frames: &'a Frames, hook: Hook) -> Self {
        let list = frames
            .frames
            .iter()
            .enumerate()
            .filter_map(|(i, f)| frames.packet(f, hook).map(|(pkt, ctx)| (i, pkt, ctx)))
            .collect();
        Packets {
            frames: frames.frames.len(),
            list,
        }
    }

    /// How many IP packets there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Runs `packets` through `inst` `repeat` times. Returns the report and the
/// first pass's verdict per frame of the capture (`None` for non-IP
/// frames). `progress` is called with the packets done so far, every 65536
/// packets. With the filter's `maps`, the nodes a run's deletes unlink are
/// reused from the next packet on (one thread: no lookup is in flight
/// between two runs).
pub fn run(
    inst: &mut Instance,
    maps: Option<&Maps>,
    packets: &Packets<'_>,
    repeat: u32,
    mut progress: impl FnMut(u64),
) -> (Report, Vec<Option<Verdict>>) {
    let repeat = repeat.max(1);
    let mut verdicts = vec![None; packets.frames];
    let before = *inst.counters();
    let mut first = Counters::default();
    let mut done = 0u64;
    let started = Instant::now();
    for pass in 0..repeat {
        for (i, pkt, ctx) in &packets.list {
            let v = inst.run(pkt, ctx);
            if let Some(maps) = maps {
                maps.reclaim(GracePeriod::elapsed());
            }
            if pass == 0 {
                verdicts[*i] = Some(v);
            }
            done += 1;
            if done & 0xffff == 0 {
                progress(done);
            }
        }
        if pass == 0 {
            first = inst.counters().since(&before);
        }
    }
    let elapsed = started.elapsed().as_nanos() as f64;
    let ns_per_packet = if done == 0 {
        0.0
    } else {
        elapsed / done as f64
    };
    let report = Report {
        frames: packets.frames as u64,
        not_ip: (packets.frames - packets.list.len()) as u64,
        counters: CounterFields {
            counters: first,
            time: false,
        },
        repeat,
        ns_per_packet,
        mpps: if ns_per_packet > 0.0 {
            1e3 / ns_per_packet
        } else {
            0.0
        },
        engine: if inst.is_fast() { "fast" } else { "wasmi" },
    };
    (report, verdicts)
}
