//! Differential fuzzing of the wasmnf engine with generated modules.
//!
//! [`generate`] turns random bytes into an ABI-shaped module with
//! `wasm-smith`: integer-only, the ABI's imports and nothing else, the
//! `filter` and `memory` exports, one memory within the default limit, loops
//! and calls bounded by an injected counter (`ensure_termination`) so every
//! engine stops the same way. [`compare`] runs one module over a fixed
//! sequence of packets on the engine (the fast tier, what the kernel runs)
//! and on wasmtime (Cranelift), with wasmi as a third vote, and compares
//! verdict, status, trap kind and the engine's counters.
//!
//! The oracle side ([`oracle`]) implements the ABI's imports again from
//! docs/abi.md, on wasmtime's API, so an engine bug in an import is seen too.
//! A disagreement between the engine and wasmtime is a finding; where only
//! wasmi differs, it is counted (wasmi 2.0.0 has known miscompilations,
//! docs/abi.md "Engines") and the Wasm specification decides.

use arbitrary::Unstructured;
#[cfg(feature = "oracle")]
use std::panic::{catch_unwind, AssertUnwindSafe};
use wasmnf_engine::{
    abi, Counters, Ctx, Family, Filter, FilterConfig, FilterOptions, Limits, LoadError, Status,
    Tier, TrapKind, Verdict,
};

#[cfg(feature = "oracle")]
pub mod oracle;

/// Loop and call iterations a generated module may make per counter reset
/// (the counter is a global, so it runs down across runs of one instance).
pub const TERMINATION_FUEL: u32 = 2_000;

/// Native stack for wasmi's vote.
#[cfg(feature = "oracle")]
const WASMI_STACK: usize = 1 << 30;

/// The configuration entries every run gets (so `config_get` finds a key).
pub const CONFIG: &[&str] = &["port=8080", "mode=drop"];

/// The imports a generated module may use: exactly the ABI's.
fn imports_module() -> Vec<u8> {
    let mut wat = String::from("(module\n");
    for (name, sig) in abi::IMPORTS {
        let (params, result) = sig.split_once(" -> ").expect("signature");
        let params: Vec<&str> = params
            .trim_matches(|c| c == '(' || c == ')')
            .split(", ")
            .filter(|p| !p.is_empty())
            .collect();
        let result = match result {
            "()" => String::new(),
            r => format!("(result {r})"),
        };
        wat.push_str(&format!(
            "  (import \"{}\" \"{name}\" (func (param {}) {result}))\n",
            abi::IMPORT_MODULE,
            params.join(" ")
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).expect("imports module")
}

/// The exports every generated module has: `filter` and its memory.
fn exports_module() -> Vec<u8> {
    wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "filter") (param i32) (result i32) (i32.const 1)))"#,
    )
    .expect("exports module")
}

/// The wasm-smith configuration of an ABI-shaped module.
pub fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        available_imports: Some(imports_module()),
        exports: Some(exports_module()),
        allow_start_export: false,
        allow_floats: false,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        saturating_float_to_int_enabled: false,
        threads_enabled: false,
        tail_call_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        extended_const_enabled: false,
        reference_types_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        sign_extension_ops_enabled: true,
        // The exported memory is generated for the `exports` shape; no other.
        max_memories: 0,
        max_memory32_bytes: u64::from(abi::limits::MEMORY_PAGES_DEFAULT) * 65536,
        max_tables: 1,
        max_table_elements: u64::from(abi::limits::TABLE_ELEMENTS_MAX),
        max_funcs: 12,
        max_instructions: 200,
        max_globals: 8,
        max_data_segments: 4,
        max_element_segments: 4,
        max_types: 16,
        min_funcs: 1,
        ..wasm_smith::Config::default()
    }
}

/// A module from `data`, or `None` when the bytes run out first.
pub fn generate(data: &[u8]) -> Option<Vec<u8>> {
    let mut u = Unstructured::new(data);
    let mut module = wasm_smith::Module::new(smith_config(), &mut u).ok()?;
    module.ensure_termination(TERMINATION_FUEL).ok()?;
    Some(module.to_bytes())
}

/// The packets each module sees, in this order, on one instance: IPv4 UDP
/// to 8080, IPv4 TCP SYN to 22, 3 bytes of an IPv4 header, nothing at all,
/// IPv6 UDP, then the first two again (state carries across runs).
pub fn packets() -> Vec<(Vec<u8>, Ctx)> {
    let v4 = |proto: u8, l4: &[u8]| {
        let total = (20 + l4.len()) as u16;
        let mut p = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(l4);
        p
    };
    let udp = [
        0x30, 0x39, 0x1f, 0x90, 0, 15, 0, 0, b'p', b'a', b'y', b'l', b'o', b'a', b'd',
    ];
    let mut tcp = vec![
        0xc3, 0x50, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff,
    ];
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    let mut v6 = vec![0x60, 0, 0, 0, 0, 15, 17, 64];
    v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v6.extend_from_slice(&udp);
    let ctx4 = Ctx {
        family: Family::Ipv4,
        iif: 2,
        mark: 7,
        tstamp_ns: 1_000_000,
        ..Ctx::default()
    };
    let ctx6 = Ctx {
        family: Family::Ipv6,
        ..ctx4
    };
    let udp4 = v4(17, &udp);
    let tcp4 = v4(6, &tcp);
    vec![
        (udp4.clone(), ctx4),
        (tcp4.clone(), ctx4),
        (udp4[..3].to_vec(), ctx4),
        (Vec::new(), ctx4),
        (v6, ctx6),
        (udp4, ctx4),
        (tcp4, ctx4),
    ]
}

/// How one run ended, in a form every engine can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The filter returned this value (a verdict or not).
    Returned(i32),
    /// It trapped.
    Trap(TrapKind),
    /// A resource limit the engines count differently (fuel, native or
    /// value stack): the rest of the sequence is not compared.
    Resource,
}

/// What one engine did with a module: found it invalid, could not
/// instantiate it (with the message), or the outcome of every packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trace {
    /// Not valid WebAssembly.
    Invalid(String),
    /// Valid, but instantiation failed (a segment out of bounds, memory over
    /// the limit, a trap in init).
    Uninstantiable(String),
    /// One outcome per packet.
    Ran(Vec<Outcome>),
}

fn engine_options(tier: Tier) -> FilterOptions {
    FilterOptions {
        limits: Limits {
            fuel: abi::limits::FUEL_MAX,
            max_call_depth: abi::limits::CALL_DEPTH_MAX,
            ..Limits::default()
        },
        config: FilterConfig::from_entries(CONFIG.iter().copied()).expect("config"),
        tier,
        ..FilterOptions::default()
    }
}

fn outcome_of(status: Status, verdict: Verdict) -> Outcome {
    match status {
        Status::Ok => Outcome::Returned(match verdict {
            Verdict::Drop => abi::verdict::DROP,
            Verdict::Accept => abi::verdict::ACCEPT,
        }),
        Status::InvalidVerdict(v) => Outcome::Returned(v),
        Status::Trap(TrapKind::StackOverflow) | Status::OutOfFuel => Outcome::Resource,
        Status::Trap(kind) => Outcome::Trap(kind),
    }
}

/// Runs `wasm` over [`packets`] on the engine's `tier`; also returns the
/// instance's counters, and the counters the trace implies. `Err`: refused
/// for a reason of the ABI's or the fast tier's, which other engines do not
/// share (an import or export outside the ABI, a construct the fast tier
/// does not run): nothing to compare.
pub fn run_engine(wasm: &[u8], tier: Tier) -> Result<(Trace, Counters, Counters), LoadError> {
    let none = Counters::default();
    let filter = match Filter::new(wasm, engine_options(tier)) {
        Ok(f) => f,
        Err(LoadError::Invalid(e) | LoadError::Malformed(e)) => {
            return Ok((Trace::Invalid(e), none, none))
        }
        Err(LoadError::NotWasm) => return Ok((Trace::Invalid("not wasm".into()), none, none)),
        Err(e) => return Err(e),
    };
    let mut inst = match filter.instantiate() {
        Ok(i) => i,
        Err(e) => return Ok((Trace::Uninstantiable(e.to_string()), none, none)),
    };
    let mut trace = Vec::new();
    let mut implied = Counters::default();
    for (pkt, ctx) in packets() {
        let r = inst.run_detailed(&pkt.as_slice(), &ctx);
        implied.packets += 1;
        match r.verdict {
            Verdict::Accept => implied.accepted += 1,
            Verdict::Drop => implied.dropped += 1,
        }
        match r.status {
            Status::Ok => {}
            Status::Trap(_) => implied.traps += 1,
            Status::OutOfFuel => implied.out_of_fuel += 1,
            Status::InvalidVerdict(_) => implied.invalid_verdicts += 1,
        }
        let o = outcome_of(r.status, r.verdict);
        trace.push(o);
        if o == Outcome::Resource {
            break;
        }
    }
    let mut counters = *inst.counters();
    counters.run_ns = 0;
    Ok((Trace::Ran(trace), counters, implied))
}

/// The result of comparing the engines on one module.
#[cfg(feature = "oracle")]
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The fast tier took the module (else: why not).
    pub taken: Option<bool>,
    /// The engine and wasmtime agreed (or the module was not taken).
    pub agree: bool,
    /// What differed, for a finding.
    pub detail: String,
    /// wasmi disagreed with the engine and wasmtime (a wasmi bug, counted).
    pub wasmi_differs: bool,
    /// wasmi panicked on the module (a wasmi bug, counted).
    pub wasmi_panicked: bool,
    /// Runs compared between the engine and wasmtime.
    pub runs: usize,
    /// Why the engine refused the module when it did not take it: the
    /// construct the fast tier lacks, or the ABI's reason.
    pub unsupported: Option<String>,
}

#[cfg(feature = "oracle")]
/// Both invalid, both uninstantiable (messages differ between engines, so
/// only the fact is compared), or both ran alike.
fn same(a: &Trace, b: &Trace) -> bool {
    match (a, b) {
        (Trace::Invalid(_), Trace::Invalid(_)) => true,
        (Trace::Uninstantiable(_), Trace::Uninstantiable(_)) => true,
        // Up to the first resource stop (fuel, stack) of either side, which
        // the engines count differently; after it the run is not compared.
        (Trace::Ran(x), Trace::Ran(y)) => {
            let stop = |t: &[Outcome]| t.iter().position(|o| *o == Outcome::Resource);
            let n = match (stop(x), stop(y)) {
                (None, None) => return x == y,
                (a, b) => a.unwrap_or(usize::MAX).min(b.unwrap_or(usize::MAX)),
            };
            x.len() >= n && y.len() >= n && x[..n] == y[..n]
        }
        _ => false,
    }
}

/// Compares the engine's fast tier, wasmtime and wasmi on `wasm`.
#[cfg(feature = "oracle")]
pub fn compare(wasm: &[u8]) -> Report {
    let mut report = Report::default();
    let (fast, counters, implied) = match run_engine(wasm, Tier::Fast) {
        Ok(r) => r,
        Err(LoadError::Unsupported(why)) => {
            report.taken = Some(false);
            report.unsupported = Some(why.into());
            report.agree = true;
            return report;
        }
        Err(e) => {
            report.taken = Some(false);
            // The ABI's reasons, without the module-specific details.
            let text = e.to_string();
            report.unsupported = Some(format!(
                "ABI: {}",
                text.split([':', '(']).next().unwrap_or("")
            ));
            report.agree = true;
            return report;
        }
    };
    report.taken = Some(true);
    let wt = oracle::run(wasm);
    report.agree = same(&fast, &wt) && counters == implied;
    if let (Trace::Ran(x), Trace::Ran(y)) = (&fast, &wt) {
        report.runs = x.len().min(y.len());
    }
    if !report.agree {
        report.detail = format!(
            "engine (fast tier): {fast:?}\nwasmtime:           {wt:?}\nengine counters {counters:?}\nimplied         {implied:?}"
        );
    }
    // wasmi's panics are counted, not printed.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // On a thread with a large stack: wasmi 2.0.0 recurses natively in some
    // failing `memory.grow` loops (tests/regress/grow_loop_in_init.wat).
    let wasmi = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(WASMI_STACK)
            .spawn_scoped(s, || {
                catch_unwind(AssertUnwindSafe(|| run_engine(wasm, Tier::Wasmi)))
            })
            .expect("thread")
            .join()
            .unwrap_or_else(Err)
    });
    std::panic::set_hook(hook);
    match wasmi {
        Err(_) => report.wasmi_panicked = true,
        Ok(Ok((wasmi, _, _))) => report.wasmi_differs = report.agree && !same(&wasmi, &fast),
        Ok(Err(_)) => report.wasmi_differs = true,
    }
    report
}
