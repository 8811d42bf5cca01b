//! Generated ABI-shaped modules (the differential fuzzer's generator) on the
//! engine: valid modules reach the translator and the interpreter, which
//! must refuse by name or run, never panic, and count every run.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmnf_difffuzz::{generate, run_engine, Trace};
use wasmnf_engine::{LoadError, Tier};

fuzz_target!(|data: &[u8]| {
    let Some(wasm) = generate(data) else { return };
    match run_engine(&wasm, Tier::Fast) {
        Ok((Trace::Ran(_), counters, implied)) => assert_eq!(counters, implied),
        // A generated module is valid Wasm within the ABI: the only load
        // refusals allowed are the fast tier's named gaps and init/limits.
        Ok((Trace::Invalid(why), _, _)) => panic!("a generated module is invalid: {why}"),
        Ok((Trace::Uninstantiable(_), _, _)) => {}
        // The fast tier's named gaps and the ABI's own limits.
        Err(LoadError::Unsupported(_)) | Err(_) => {}
    }
});
