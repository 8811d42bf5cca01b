//! The fast tier: the engine's own interpreter for the Wasm that filters
//! are made of (integer instructions, one memory, one table), with a
//! per-packet entry that costs a few dozen instructions instead of wasmi's
//! several hundred.
//!
//! wasmi stays the reference: every module is validated and compiled by
//! wasmi first ([`crate::Filter::new`]), and a module using anything this
//! tier does not translate ([`Unsupported`]) runs on wasmi. The tier keeps
//! the ABI's limits itself: fuel is charged per straight-line run of
//! instructions (roughly one unit per Wasm instruction, paid when the run
//! starts, so every loop iteration and call pays), the call depth and the
//! value stack are bounded, memory growth is capped. Tests run both tiers
//! over the same filters and packets and compare every result.
//!
//! - [`op`]: the instruction set.
//! - [`translate`]: Wasm to [`op::Op`], at load time.
//! - [`exec`]: the interpreter.
//! - [`reads`]: what the packet path can read (so the host stages only that).

pub mod exec;
mod op;
mod reads;
mod translate;

pub(crate) use exec::{Env, InstantiateError, Machine, Trap};
pub(crate) use reads::Reads;
pub use translate::Unsupported;
pub(crate) use translate::{translate, Module};
