//! Hostile and broken filters: each is refused at load with an error that
//! names the problem, or bounded at run time and counted.

use wasmnf_engine::{
    Ctx, Filter, FilterOptions, Instance, Limits, LoadError, OnError, Status, TrapKind, Verdict,
};
use wasmnf_tests::udp4;

fn load_wat(wat: &str, options: FilterOptions) -> Result<Instance, LoadError> {
    let wasm = wat::parse_str(wat).expect("test WAT parses");
    Filter::new(&wasm, options)?.instantiate()
}

fn refused(wat: &str) -> String {
    match load_wat(wat, FilterOptions::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("loaded:\n{wat}"),
    }
}

/// Runs one packet through `wat` with failure policy `on_error`.
fn run(wat: &str, on_error: OnError) -> (Instance, Verdict, Status) {
    let options = FilterOptions {
        on_error,
        ..FilterOptions::default()
    };
    let mut inst = load_wat(wat, options).expect("loads");
    let pkt = udp4(8080, b"payload");
    let r = inst.run_detailed(&pkt.as_slice(), &Ctx::default());
    (inst, r.verdict, r.status)
}

const LOOP: &str = r#"(module (func (export "filter") (param i32) (result i32)
    (loop $l (br $l)) (i32.const 1)))"#;

#[test]
fn infinite_loop_runs_out_of_fuel_and_follows_the_policy() {
    for (policy, want) in [
        (OnError::Accept, Verdict::Accept),
        (OnError::Drop, Verdict::Drop),
    ] {
        let (mut inst, verdict, status) = run(LOOP, policy);
        assert_eq!(status, Status::OutOfFuel);
        assert_eq!(verdict, want);
        // The instance stays usable and every run is bounded again.
        let r = inst.run_detailed(&[0u8; 20].as_slice(), &Ctx::default());
        assert_eq!(r.status, Status::OutOfFuel);
        let c = inst.counters();
        assert_eq!((c.packets, c.out_of_fuel, c.errors()), (2, 2, 2));
    }
}

#[test]
fn out_of_bounds_memory_access_traps() {
    let wat = r#"(module (memory 1) (func (export "filter") (param i32) (result i32)
        (i32.load (i32.const 70000))))"#;
    let (inst, verdict, status) = run(wat, OnError::Drop);
    assert_eq!(status, Status::Trap(TrapKind::MemoryOutOfBounds));
    assert_eq!(verdict, Verdict::Drop);
    assert_eq!(inst.counters().traps, 1);
}

#[test]
fn memory_grow_bomb_is_capped() {
    // Grows one page at a time until refused, then returns accept if the
    // memory ended at the limit (16 pages by default), drop otherwise.
    let wat = r#"(module (memory 1) (func (export "filter") (param i32) (result i32)
        (block $done (loop $grow
            (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (i32.eq (memory.size) (i32.const 16))))"#;
    let (_, verdict, status) = run(wat, OnError::Drop);
    assert_eq!(status, Status::Ok);
    assert_eq!(
        verdict,
        Verdict::Accept,
        "memory stopped at the 16-page limit"
    );
    let big = r#"(module (memory 65536) (func (export "filter") (param i32) (result i32) (i32.const 1)))"#;
    assert_eq!(
        refused(big),
        "memory: memory declares 65536 initial pages; the limit is 16 (64 KiB each)"
    );
}

#[test]
fn grown_pages_are_zero_and_old_ones_kept() {
    // Writes a byte at the end of page 0, grows by two pages, then accepts
    // only if that byte survived and both new pages read zero at their
    // first and last words.
    let wat = r#"(module (memory 1) (func (export "filter") (param i32) (result i32)
        (i32.store8 (i32.const 65535) (i32.const 0xab))
        (if (i32.ne (memory.grow (i32.const 2)) (i32.const 1)) (then (return (i32.const 0))))
        (i32.and
            (i32.eq (i32.load8_u (i32.const 65535)) (i32.const 0xab))
            (i32.eqz (i32.or
                (i32.or (i32.load (i32.const 65536)) (i32.load (i32.const 131068)))
                (i32.or (i32.load (i32.const 131072)) (i32.load (i32.const 196604))))))))"#;
    let (_, verdict, status) = run(wat, OnError::Drop);
    assert_eq!(status, Status::Ok);
    assert_eq!(verdict, Verdict::Accept);
}

#[test]
fn deep_recursion_traps() {
    let wat = r#"(module
        (func $f (param i32) (result i32) (call $f (i32.add (local.get 0) (i32.const 1))))
        (func (export "filter") (param i32) (result i32) (call $f (local.get 0))))"#;
    let (inst, _, status) = run(wat, OnError::Accept);
    assert_eq!(status, Status::Trap(TrapKind::StackOverflow));
    assert_eq!(inst.counters().traps, 1);
}

#[test]
fn floats_are_refused_by_name() {
    let wat = r#"(module (func (export "filter") (param i32) (result i32)
        (drop (f64.add (f64.const 1) (f64.const 2))) (i32.const 1)))"#;
    assert_eq!(
        refused(wat),
        "float instruction `f64.const` is not allowed (function 0)"
    );
    let wat = r#"(module (func (export "filter") (param i32) (result i32)
        (i32.trunc_f32_s (f32.convert_i32_s (local.get 0)))))"#;
    assert_eq!(
        refused(wat),
        "float instruction `f32.convert_i32_s` is not allowed (function 0)"
    );
    let wat = r#"(module (func (export "filter") (param i32) (result i32)
        (local f64) (i32.const 1)))"#;
    assert_eq!(
        refused(wat),
        "float type `f64` is not allowed (in the locals of function 0)"
    );
    let wat = r#"(module (global f32 (f32.const 0))
        (func (export "filter") (param i32) (result i32) (i32.const 1)))"#;
    assert!(refused(wat).starts_with("float type `f32` is not allowed"));
}

#[test]
fn float_add_is_named() {
    // The add, not the constants, is the first float: arguments from locals.
    let wat = r#"(module (func $f (export "g") (param i64 i64) (result i64)
            (i64.reinterpret_f64 (f64.add (f64.reinterpret_i64 (local.get 0))
                                          (f64.reinterpret_i64 (local.get 1)))))
        (func (export "filter") (param i32) (result i32) (i32.const 1)))"#;
    assert_eq!(
        refused(wat),
        "float instruction `f64.reinterpret_i64` is not allowed (function 0)"
    );
}

#[test]
fn oversized_module_is_refused() {
    let blob = "\\00".repeat(1 << 20);
    let wat = format!(
        r#"(module (memory 17) (data (i32.const 0) "{blob}")
        (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
    );
    let err = refused(&wat);
    assert!(err.starts_with("module is 10"), "{err}");
    assert!(err.ends_with("bytes; the limit is 1048576 bytes"), "{err}");
}

#[test]
fn exports_are_checked() {
    assert_eq!(
        refused(r#"(module (func (export "filt") (param i32) (result i32) (i32.const 1)))"#),
        "the module does not export `filter`"
    );
    assert_eq!(
        refused(r#"(module (func (export "filter") (param i32 i32) (result i32) (i32.const 1)))"#),
        "`filter` must have type (i32) -> i32, found (i32, i32) -> i32"
    );
    assert_eq!(
        refused(r#"(module (memory (export "filter") 1))"#),
        "`filter` must have type (i32) -> i32, found not a function"
    );
    assert_eq!(
        refused(
            r#"(module (func (export "filter") (param i32) (result i32) (i32.const 1))
                       (func (export "init") (param i32)))"#
        ),
        "`init` must have type () -> i32, found (i32) -> ()"
    );
}

#[test]
fn imports_are_checked() {
    assert_eq!(
        refused(
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
               (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        ),
        "import `wasi_snapshot_preview1.fd_write` is not part of the wasmnf ABI"
    );
    assert_eq!(
        refused(
            r#"(module (import "wasmnf" "pkt_u16" (func (param i64) (result i32)))
               (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        ),
        "import `wasmnf.pkt_u16` must have type (i32) -> i32, found (i64) -> i32"
    );
    assert_eq!(
        refused(
            r#"(module (import "wasmnf" "memory" (memory 1))
               (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        ),
        "import `wasmnf.memory` is not a function; the wasmnf ABI imports only functions"
    );
    assert_eq!(
        refused(
            r#"(module (import "wasmnf" "exec" (func))
               (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        ),
        "import `wasmnf.exec` is not part of the wasmnf ABI"
    );
}

#[test]
fn garbage_and_truncated_bytes_are_refused() {
    let options = FilterOptions::default;
    let err = |bytes: &[u8]| Filter::new(bytes, options()).err().expect("refused");
    assert_eq!(err(b"\x7fELF\x02\x01\x01\0garbage"), LoadError::NotWasm);
    assert_eq!(err(b""), LoadError::NotWasm);
    let valid = wat::parse_str(LOOP).unwrap();
    let e = err(&valid[..valid.len() - 3]);
    assert!(matches!(e, LoadError::Malformed(_)), "{e}");
    assert!(
        e.to_string().starts_with("malformed WebAssembly module: "),
        "{e}"
    );
}

#[test]
fn start_function_is_refused() {
    assert_eq!(
        refused(
            r#"(module (func $s) (start $s)
               (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        ),
        "a start function is not allowed; export `init` for set-up instead"
    );
}

#[test]
fn packet_reads_past_the_end_trap() {
    let wat = r#"(module (import "wasmnf" "pkt_u32" (func $u32 (param i32) (result i32)))
        (func (export "filter") (param $len i32) (result i32)
            (drop (call $u32 (i32.sub (local.get $len) (i32.const 2)))) (i32.const 1)))"#;
    let (_, verdict, status) = run(wat, OnError::Drop);
    assert_eq!(status, Status::Trap(TrapKind::PacketOutOfBounds));
    assert_eq!(verdict, Verdict::Drop);
    let wat = r#"(module (import "wasmnf" "pkt_read" (func $rd (param i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "filter") (param $len i32) (result i32)
            (call $rd (i32.const 0) (i32.const 65530) (local.get $len))))"#;
    let (_, _, status) = run(wat, OnError::Accept);
    assert_eq!(status, Status::Trap(TrapKind::HostMemoryOutOfBounds));
}

#[test]
fn invalid_verdicts_and_unreachable_follow_the_policy() {
    let wat = r#"(module (func (export "filter") (param i32) (result i32) (i32.const 7)))"#;
    let (inst, verdict, status) = run(wat, OnError::Drop);
    assert_eq!(
        (verdict, status),
        (Verdict::Drop, Status::InvalidVerdict(7))
    );
    assert_eq!(inst.counters().invalid_verdicts, 1);
    let wat = r#"(module (func (export "filter") (param i32) (result i32) (unreachable)))"#;
    let (_, verdict, status) = run(wat, OnError::Accept);
    assert_eq!(
        (verdict, status),
        (Verdict::Accept, Status::Trap(TrapKind::Unreachable))
    );
}

#[test]
fn init_is_bounded_and_reports() {
    let wat = r#"(module (func (export "filter") (param i32) (result i32) (i32.const 1))
        (func (export "init") (result i32) (loop $l (br $l)) (i32.const 0)))"#;
    assert_eq!(refused(wat), "filter init trapped: out of fuel");
    let wat = r#"(module (import "wasmnf" "set_error" (func $err (param i32 i32)))
        (memory (export "memory") 1) (data (i32.const 16) "no good")
        (func (export "filter") (param i32) (result i32) (i32.const 1))
        (func (export "init") (result i32) (call $err (i32.const 16) (i32.const 7)) (i32.const 3)))"#;
    assert_eq!(refused(wat), "filter init failed (3): no good");
}

#[test]
fn bad_windows_are_refused() {
    let wat = |addr: u32| {
        format!(
            r#"(module (memory (export "memory") 1) (global (export "wasmnf_window") i32 (i32.const {addr}))
            (func (export "filter") (param i32) (result i32) (i32.const 1)))"#
        )
    };
    assert!(load_wat(&wat(1024), FilterOptions::default()).is_ok());
    assert_eq!(
        refused(&wat(1028)),
        "window: the window address must be 8-byte aligned"
    );
    assert_eq!(
        refused(&wat(65536 - 64)),
        "window: the window at 65472 (+192 bytes) is outside the initial memory"
    );
}

#[test]
fn load_options_are_range_checked() {
    let opts = |limits| FilterOptions {
        limits,
        ..FilterOptions::default()
    };
    let d = Limits::default();
    for bad in [
        Limits { fuel: 0, ..d },
        Limits {
            fuel: 10_000_001,
            ..d
        },
        Limits {
            max_memory_pages: 257,
            ..d
        },
        Limits {
            max_call_depth: 0,
            ..d
        },
        Limits {
            max_module_size: (1 << 20) + 1,
            ..d
        },
    ] {
        let e = load_wat(LOOP, opts(bad)).err().expect("refused");
        assert!(matches!(e, LoadError::Options(_)), "{e}");
    }
    // A smaller fuel budget is honoured: a 50-iteration loop fits in the
    // default but not in 50 units.
    let counted = r#"(module (func (export "filter") (param i32) (result i32) (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
        (i32.const 1)))"#;
    let mut roomy = load_wat(counted, opts(d)).unwrap();
    let mut tight = load_wat(counted, opts(Limits { fuel: 50, ..d })).unwrap();
    let pkt: &[u8] = &[0x45; 20];
    assert_eq!(roomy.run_detailed(&pkt, &Ctx::default()).status, Status::Ok);
    assert_eq!(
        tight.run_detailed(&pkt, &Ctx::default()).status,
        Status::OutOfFuel
    );
}
