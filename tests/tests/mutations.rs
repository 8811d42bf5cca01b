//! The engine must never panic, whatever bytes it is handed (in the kernel a
//! panic is fatal): mutated copies of real filters are either refused with a
//! `LoadError` or load and run packets without panicking.

use wasmnf_engine::{Ctx, Filter, FilterOptions};
use wasmnf_tests::*;

#[test]
fn mutated_modules_never_panic() {
    let pkts = [udp4(8080, b"x"), tcp6(80), vec![0x45; 3], Vec::new()];
    let mut rng = Rng(0x5eed);
    let (mut refused, mut loaded) = (0, 0);
    for name in ["drop_port", "dns_block", "cidr_list"] {
        let original = wasm(name);
        for round in 0..400 {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % bytes.len();
                match rng.next() % 3 {
                    0 => bytes[at] = rng.next() as u8,
                    1 => bytes[at] ^= 1 << (rng.next() % 8),
                    _ => bytes.truncate(at.max(8)),
                }
            }
            let options = FilterOptions {
                config: wasmnf_engine::FilterConfig::from_entries([
                    "port=8080",
                    "names=example.com",
                    "deny=10.0.0.0/8",
                ])
                .unwrap(),
                ..FilterOptions::default()
            };
            match Filter::new(&bytes, options).and_then(|f| f.instantiate()) {
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "{name} round {round}");
                    refused += 1;
                }
                Ok(mut inst) => {
                    for p in &pkts {
                        inst.run_detailed(&p.as_slice(), &Ctx::default());
                    }
                    assert_eq!(inst.counters().packets, pkts.len() as u64);
                    loaded += 1;
                }
            }
        }
    }
    // Both outcomes were exercised.
    assert!(
        refused > 100 && loaded > 10,
        "refused {refused}, loaded {loaded}"
    );
}
