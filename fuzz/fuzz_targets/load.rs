//! Any bytes as a filter: the ABI check, validation, translation,
//! instantiation and runs over the fuzzer's packets must refuse or run,
//! never panic, and keep the counters consistent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmnf_difffuzz::{run_engine, Trace};
use wasmnf_engine::Tier;

fuzz_target!(|data: &[u8]| {
    if let Ok((Trace::Ran(_), counters, implied)) = run_engine(data, Tier::Fast) {
        assert_eq!(counters, implied);
    }
});
