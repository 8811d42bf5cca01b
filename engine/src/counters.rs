//! Per-filter counters. Each instance keeps its own (one per CPU in the
//! kernel, so no cache line is shared on the packet path); readers add them
//! up with [`Counters::merge`].

/// What one instance (or, merged, one filter) has seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets run through the filter.
    pub packets: u64,
    /// Packets accepted (by the filter or by the failure policy).
    pub accepted: u64,
    /// Packets dropped (by the filter or by the failure policy).
    pub dropped: u64,
    /// Runs that trapped (including host-function traps).
    pub traps: u64,
    /// Runs that ran out of fuel.
    pub out_of_fuel: u64,
    /// Runs that returned a value that is not a verdict.
    pub invalid_verdicts: u64,
    /// Total time spent in the filter, in nanoseconds (0 without a clock).
    pub run_ns: u64,
}

impl Counters {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.accepted += other.accepted;
        self.dropped += other.dropped;
        self.traps += other.traps;
        self.out_of_fuel += other.out_of_fuel;
        self.invalid_verdicts += other.invalid_verdicts;
        self.run_ns += other.run_ns;
    }

    /// What was counted after `earlier`, a snapshot of the same counters.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            packets: self.packets - earlier.packets,
            accepted: self.accepted - earlier.accepted,
            dropped: self.dropped - earlier.dropped,
            traps: self.traps - earlier.traps,
            out_of_fuel: self.out_of_fuel - earlier.out_of_fuel,
            invalid_verdicts: self.invalid_verdicts - earlier.invalid_verdicts,
            run_ns: self.run_ns - earlier.run_ns,
        }
    }

    /// Runs that ended in an error of any kind.
    pub fn errors(&self) -> u64 {
        self.traps + self.out_of_fuel + self.invalid_verdicts
    }
}
