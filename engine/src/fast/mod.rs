//! The fast tier: the engine's own interpreter for the Wasm that filters
//! are made of (integer instructions, one memory, one table), with a
//! per-packet entry that costs a few dozen instructions instead of wasmi's
//! several hundred.
//!
//! A module using anything this tier does not translate ([`Unsupported`])
//! is refused by the engine: nothing else runs it (wasmi only on explicit
//! request, in userspace). The tier keeps the ABI's limits itself: fuel is
//! charged per straight-line run of instructions (roughly one unit per Wasm
//! instruction, paid when the run starts, so every loop iteration and call
//! pays), the call depth and the value stack are bounded, memory growth is
//! capped. Tests run it against wasmi and wasmtime over the same filters,
//! packets and generated modules and compare every result.
//!
//! Modules, each importing only those above it:
//! - `op`: the instruction set.
//! - `module`: a translated module (data only).
//! - `reads`: what the packet path can read (so the host stages only that).
//! - `fuse`: peephole fusion rules and the return-threading pass.
//! - `func`: one function body to `op::Op`s.
//! - `translate`: a whole module: its sections, then each body.
//! - `exec`: the interpreter.

pub mod exec;
mod func;
mod fuse;
mod module;
mod op;
mod reads;
mod translate;

pub(crate) use exec::{Env, InstantiateError, Machine, Trap};
pub use module::Unsupported;
pub(crate) use module::{Module, Reads};
pub(crate) use translate::translate;
