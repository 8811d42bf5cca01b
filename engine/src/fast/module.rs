//! The fast tier's form of a module: what translation ([`super::translate`])
//! produces, the interpreter ([`super::exec`]) runs and the read analysis
//! ([`super::reads`]) walks. Data only.

use super::op::{HostFn, Op, Target};
use alloc::vec::Vec;
use core::ops::Range;
use wasmparser::ValType;

/// Why the fast tier does not take a module: the first construct it lacks
/// (the engine then refuses the filter, naming it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

/// A function's type, as the interpreter needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sig {
    pub params: u32,
    pub results: u32,
    /// The index of the first structurally equal type: what
    /// `call_indirect` compares.
    pub canon: u32,
}

/// What a function index refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Callee {
    Host(HostFn),
    /// Index into [`Module::codes`].
    Wasm(u32),
}

/// A translated function body.
#[derive(Debug)]
pub(crate) struct Code {
    pub ops: Vec<Op>,
    pub targets: Vec<Target>,
    pub params: u32,
    pub results: u32,
    /// Parameters plus declared locals.
    pub locals: u32,
    /// Most slots the function uses above its frame pointer.
    pub max_height: u32,
    /// Fuel charged on entry: the function's own region. `ops[0]` is its
    /// `Fuel`, which nothing jumps to; calls charge this and start at
    /// [`Code::START`] instead.
    pub entry_fuel: u32,
}

impl Code {
    /// Where execution of a function starts (after its entry `Fuel`).
    pub const START: usize = 1;
}

/// A module translated for the fast tier.
#[derive(Debug)]
pub(crate) struct Module {
    /// The function index space: imports first, then defined functions,
    /// each with its canonical type.
    pub funcs: Vec<(Callee, u32)>,
    pub codes: Vec<Code>,
    /// Initial values and mutability of the globals.
    pub globals: Vec<u64>,
    /// Initial and maximum pages of the memory, if the module has one.
    pub memory: Option<(u32, Option<u32>)>,
    /// Active data segments: offset and bytes.
    pub data: Vec<(u32, Vec<u8>)>,
    /// Initial size of the table.
    pub table: u32,
    /// Active element segments: offset and function indices (`None`: null).
    pub elems: Vec<(u32, Vec<Option<u32>>)>,
    /// The `filter` export's function index.
    pub filter: u32,
    /// The `init` export's function index.
    pub init: Option<u32>,
    /// Whether the memory is exported (host functions see only an
    /// exported memory, as in the ABI).
    pub memory_exported: bool,
    /// What runs of `filter` can read ([`super::reads`]).
    pub reads: PathReads,
}

/// The memory bytes runs of `filter` may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reads {
    /// Only bytes inside these ranges (half-open, in `u64` so that an
    /// address near 4 GiB plus a width cannot wrap).
    Fixed(Vec<Range<u64>>),
    /// Any byte.
    Any,
}

impl Reads {
    /// Whether a run may read any byte of `range`.
    pub(crate) fn overlaps(&self, range: Range<u64>) -> bool {
        match self {
            Reads::Any => true,
            Reads::Fixed(ranges) => ranges
                .iter()
                .any(|r| r.start < range.end && range.start < r.end),
        }
    }

    /// The end of the last byte of `range` a run may read (`range.start` if
    /// none).
    pub(crate) fn end_within(&self, range: Range<u64>) -> u64 {
        match self {
            Reads::Any => range.end,
            Reads::Fixed(ranges) => ranges
                .iter()
                .filter(|r| r.start < range.end && range.start < r.end)
                .map(|r| r.end.min(range.end))
                .max()
                .unwrap_or(range.start),
        }
    }
}

/// What the packet path can observe besides the packet imports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathReads {
    /// Memory it may read.
    pub memory: Reads,
    /// Whether it may call `ctx` (which can return any context field).
    pub ctx: bool,
}

/// A decoding error: translation runs on validated modules, so it is only
/// reported, never expected.
pub(super) fn bad(_: wasmparser::BinaryReaderError) -> Unsupported {
    Unsupported("unreadable module")
}

/// Only `i32` and `i64` values.
pub(super) fn int_type(ty: ValType) -> Result<(), Unsupported> {
    match ty {
        ValType::I32 | ValType::I64 => Ok(()),
        _ => Err(Unsupported("a value type other than i32 and i64")),
    }
}
