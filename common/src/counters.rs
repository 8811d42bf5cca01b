//! The per-filter counters, listed once.
//!
//! [`Counter`] names each counter with its `WASMNF_A_STATS_*` attribute
//! number and its JSON name; [`Counters`] holds one value per counter. The
//! engine counts into a [`Counters`] for userspace embedders, the kernel
//! module keeps one set per CPU and sums them, netlink carries them nested
//! in `WASMNF_A_STATS`, and `wasmnf stats` and `replay --json` print them
//! by these names. [`Counter::for_run`] says which counters one run adds
//! to, so every embedder counts a run the same way.

use super::ffi::{self, RunResult};

macro_rules! counters {
    ($( $(#[$doc:meta])* $variant:ident = $attr:literal, $field:ident, $label:literal; )*) => {
        /// One counter. The discriminant is its attribute number inside
        /// `WASMNF_A_STATS` (`docs/netlink.md`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Counter {
            $( $(#[$doc])* $variant = $attr, )*
        }

        impl Counter {
            /// Every counter, in attribute order.
            pub const ALL: [Counter; Counter::COUNT] = [$(Counter::$variant),*];

            /// The JSON and Rust field name, e.g. `out_of_fuel`.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Counter::$variant => stringify!($field), )*
                }
            }

            /// The column heading in `wasmnf stats`, e.g. `out-of-fuel`.
            pub const fn label(self) -> &'static str {
                match self {
                    $( Counter::$variant => $label, )*
                }
            }
        }

        /// One value per [`Counter`]: what an instance, a CPU or a filter
        /// has counted.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct Counters {
            $( $(#[$doc])* pub $field: u64, )*
        }

        impl Counters {
            /// The value of `c`.
            pub const fn get(&self, c: Counter) -> u64 {
                match c {
                    $( Counter::$variant => self.$field, )*
                }
            }

            /// The value of `c`, to change.
            pub fn get_mut(&mut self, c: Counter) -> &mut u64 {
                match c {
                    $( Counter::$variant => &mut self.$field, )*
                }
            }
        }
    };
}

counters! {
    /// Packets the filter ran on.
    Packets = 1, packets, "packets";
    /// Packets accepted, by the filter or by its failure policy.
    Accepted = 2, accepted, "accepted";
    /// Packets dropped, by the filter or by its failure policy.
    Dropped = 3, dropped, "dropped";
    /// Runs that trapped (including host-function traps).
    Traps = 4, traps, "traps";
    /// Runs that ran out of fuel.
    OutOfFuel = 5, out_of_fuel, "out-of-fuel";
    /// Runs that returned a value that is not a verdict.
    InvalidVerdicts = 6, invalid_verdicts, "invalid";
    /// Nanoseconds spent in the filter, summed (in the kernel an estimate
    /// from sampled packets; 0 without a clock).
    RunNs = 7, run_ns, "run-ns";
}

impl Counter {
    /// How many counters there are.
    pub const COUNT: usize = 7;

    /// Its attribute number inside `WASMNF_A_STATS`.
    pub const fn attr(self) -> u16 {
        self as u16
    }

    /// The counter with attribute number `attr`, if any.
    pub fn from_attr(attr: u16) -> Option<Counter> {
        Counter::ALL.into_iter().find(|c| c.attr() == attr)
    }

    /// Its index in `0..COUNT` (for per-CPU arrays).
    pub const fn index(self) -> usize {
        self as usize - 1
    }

    /// The counters one run adds one to besides [`Counter::Packets`]: the
    /// verdict's ([`Counter::Accepted`] or [`Counter::Dropped`]) and, for a
    /// failed run, its failure's. [`Counter::RunNs`] is the embedder's to
    /// time.
    pub const fn for_run(r: &RunResult) -> (Counter, Option<Counter>) {
        let verdict = if r.verdict == ffi::verdict::DROP {
            Counter::Dropped
        } else {
            Counter::Accepted
        };
        // The common case first, with the failures out of line: the kernel
        // counts every packet with this.
        if r.status == ffi::status::OK {
            return (verdict, None);
        }
        (verdict, Some(Counter::for_failure(r.status)))
    }

    /// The counter of a failed run's status (not [`ffi::status::OK`]).
    #[cold]
    const fn for_failure(status: u32) -> Counter {
        match status {
            ffi::status::TRAP => Counter::Traps,
            ffi::status::OUT_OF_FUEL => Counter::OutOfFuel,
            _ => Counter::InvalidVerdicts,
        }
    }
}

/// The attribute numbers are `1..=COUNT` in order, so `index` is dense.
const _: () = {
    let mut i = 0;
    while i < Counter::COUNT {
        assert!(Counter::ALL[i] as usize == i + 1);
        i += 1;
    }
};

impl Counters {
    /// Counts one run (every counter but [`Counter::RunNs`]).
    pub fn record(&mut self, r: &RunResult) {
        let (verdict, failure) = Counter::for_run(r);
        self.packets += 1;
        *self.get_mut(verdict) += 1;
        if let Some(f) = failure {
            *self.get_mut(f) += 1;
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Counters) {
        for c in Counter::ALL {
            *self.get_mut(c) = self.get(c).wrapping_add(other.get(c));
        }
    }

    /// What was counted after `earlier`, a snapshot of the same counters.
    pub fn since(&self, earlier: &Counters) -> Counters {
        let mut d = Counters::default();
        for c in Counter::ALL {
            *d.get_mut(c) = self.get(c).wrapping_sub(earlier.get(c));
        }
        d
    }

    /// Runs that ended in an error of any kind.
    pub const fn errors(&self) -> u64 {
        self.traps + self.out_of_fuel + self.invalid_verdicts
    }

    /// Mean nanoseconds per run, `None` before the first packet.
    pub const fn ns_per_packet(&self) -> Option<u64> {
        self.run_ns.checked_div(self.packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_attributes_and_fields_agree() {
        let mut c = Counters::default();
        for (i, k) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(Counter::from_attr(k.attr()), Some(k));
            *c.get_mut(k) = i as u64 + 10;
        }
        assert_eq!(c.out_of_fuel, 14);
        assert_eq!(Counter::OutOfFuel.name(), "out_of_fuel");
        assert_eq!(Counter::from_attr(0), None);
        assert_eq!(Counter::from_attr(8), None);
    }

    #[test]
    fn a_run_is_counted_by_its_verdict_and_failure() {
        let mut c = Counters::default();
        let run = |verdict, status| RunResult {
            verdict,
            status,
            detail: 0,
        };
        c.record(&run(ffi::verdict::ACCEPT, ffi::status::OK));
        c.record(&run(ffi::verdict::DROP, ffi::status::TRAP));
        c.record(&run(ffi::verdict::ACCEPT, ffi::status::OUT_OF_FUEL));
        c.record(&run(ffi::verdict::DROP, ffi::status::INVALID_VERDICT));
        let want = Counters {
            packets: 4,
            accepted: 2,
            dropped: 2,
            traps: 1,
            out_of_fuel: 1,
            invalid_verdicts: 1,
            run_ns: 0,
        };
        assert_eq!(c, want);
        assert_eq!(c.errors(), 3);
        let mut twice = c;
        twice.merge(&c);
        assert_eq!(twice.since(&c), c);
    }
}
