//! The contract's counters ([`Counter`], listed once in `wasmnf-common`) in
//! the CLI's outputs: JSON fields named by [`Counter::name`], in attribute
//! order, and table columns headed by [`Counter::label`].

use serde::ser::{Serialize, SerializeMap, Serializer};
pub use wasmnf_common::counters::{Counter, Counters};

/// Counters as JSON fields (`"packets": 12, ...`), to `#[serde(flatten)]`
/// into a report; with or without the time counter (`run_ns`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CounterFields {
    /// The values.
    pub counters: Counters,
    /// Whether `run_ns` is a field.
    pub time: bool,
}

/// Every counter but the time ([`Counter::RunNs`]): what `replay` reports
/// (it times the passes itself) and `wasmnf stats` tabulates (it shows the
/// time per packet instead).
pub fn counts() -> impl Iterator<Item = Counter> {
    Counter::ALL.into_iter().filter(is_count)
}

/// Whether `c` counts runs (every counter but the time).
fn is_count(c: &Counter) -> bool {
    *c != Counter::RunNs
}

impl CounterFields {
    /// The counters shown: every one, or [`counts`].
    pub fn shown(&self) -> impl Iterator<Item = Counter> + '_ {
        Counter::ALL
            .into_iter()
            .filter(|c| self.time || is_count(c))
    }
}

impl Serialize for CounterFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for c in self.shown() {
            map.serialize_entry(c.name(), &self.counters.get(c))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_by_the_contract_in_attribute_order() {
        let counters = Counters {
            packets: 5,
            dropped: 2,
            run_ns: 9,
            ..Counters::default()
        };
        let json = |time| serde_json::to_string(&CounterFields { counters, time }).unwrap();
        assert_eq!(
            json(true),
            r#"{"packets":5,"accepted":0,"dropped":2,"traps":0,"out_of_fuel":0,"invalid_verdicts":0,"run_ns":9}"#
        );
        assert!(!json(false).contains("run_ns"));
    }
}
