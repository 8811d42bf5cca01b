//! A run allocates nothing: proven with a counting global allocator, per
//! thread so the test harness's own allocations do not count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use wasmnf_engine::{Instance, Status, Tier};
use wasmnf_tests::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every operation to `System`; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

fn run_all(inst: &mut Instance, pkts: &[Vec<u8>]) {
    for p in pkts {
        let r = inst.run_detailed(&p.as_slice(), &ctx(p));
        assert_eq!(r.status, Status::Ok);
    }
}

#[test]
fn runs_allocate_nothing() {
    // The counter works: a Vec counts.
    assert_eq!(
        allocations_during(|| drop(std::hint::black_box(vec![1u8; 10]))),
        1
    );

    let pkts = vec![
        udp4(8080, b"x"),
        tcp6(443),
        // Transport header past the staging window: host-call reads.
        with_ipv6_ext(&tcp6(8080), &[(0, 96), (60, 64)], 0, false),
        udp4(53, &dns_query("www.example.com")),
        icmp4_from(SRC4),
        Vec::new(),
    ];
    let filters: [(&str, &[&str]); 6] = [
        ("accept_all", &[]),
        ("drop_port", &["port=8080"]),
        ("cidr_list", &["deny=10.0.0.0/8,2001:db8::/32"]),
        ("dns_block", &["names=example.com"]),
        ("icmp_ratelimit", &["rate=5"]),
        ("syn_flood", &["max=3"]),
    ];
    for ((name, config), tier) in filters
        .into_iter()
        .flat_map(|f| [(f, Tier::Fast), (f, Tier::Wasmi)])
    {
        let mut inst = load_tier(&wasm(name), config, tier).unwrap();
        assert_eq!(inst.is_fast(), tier == Tier::Fast, "{name}");
        // The very first packet after instantiation already allocates nothing.
        let n = allocations_during(|| run_all(&mut inst, &pkts));
        assert_eq!(
            n,
            0,
            "{name} ({tier:?}): {n} allocations in its first {} runs",
            pkts.len()
        );
        let n = allocations_during(|| {
            for _ in 0..100 {
                run_all(&mut inst, &pkts);
            }
        });
        assert_eq!(n, 0, "{name} ({tier:?}): {n} allocations in later runs");
    }
}

/// What a failing run costs: nothing on the fast tier; on wasmi, which
/// boxes every trap, exactly one allocation per trapping or out-of-fuel run
/// (documented in docs/abi.md; in the kernel it is a small atomic allocation
/// on the failure path).
#[test]
fn failing_runs_allocate_nothing_fast_and_once_on_wasmi() {
    let spin = wat::parse_str(
        r#"(module (func (export "filter") (param i32) (result i32) (loop $l (br $l)) (i32.const 1)))"#,
    )
    .unwrap();
    let trap = wat::parse_str(
        r#"(module (func (export "filter") (param i32) (result i32) (unreachable)))"#,
    )
    .unwrap();
    for wasm in [spin, trap] {
        for (tier, per_run) in [(Tier::Fast, 0), (Tier::Wasmi, 1)] {
            let mut inst = load_tier(&wasm, &[], tier).unwrap();
            assert_eq!(inst.is_fast(), tier == Tier::Fast);
            let pkt = udp4(1, b"");
            let n = allocations_during(|| {
                for _ in 0..10 {
                    let r = inst.run_detailed(&pkt.as_slice(), &ctx(&pkt));
                    assert_ne!(r.status, Status::Ok);
                }
            });
            assert_eq!(n, 10 * per_run, "{tier:?}: allocations in 10 failing runs");
        }
    }
}

/// A filter that recurses to the call-depth limit (64 frames by default): its first run
/// allocates nothing either (the warm-up grows wasmi's call stack to the
/// configured depth at instantiation).
#[test]
fn deep_recursion_allocates_nothing_on_the_first_run() {
    let wasm = wat::parse_str(
        r#"(module
            (func $down (param i32) (result i32)
                (if (result i32) (local.get 0)
                    (then (call $down (i32.sub (local.get 0) (i32.const 1))))
                    (else (i32.const 1))))
            (func (export "filter") (param i32) (result i32) (call $down (i32.const 62))))"#,
    )
    .unwrap();
    for tier in [Tier::Fast, Tier::Wasmi] {
        let mut inst = load_tier(&wasm, &[], tier).unwrap();
        let pkt = udp4(1, b"");
        let n = allocations_during(|| {
            let r = inst.run_detailed(&pkt.as_slice(), &ctx(&pkt));
            assert_eq!(r.status, Status::Ok);
        });
        assert_eq!(n, 0, "{tier:?}: {n} allocations on the first deep run");
    }
}
