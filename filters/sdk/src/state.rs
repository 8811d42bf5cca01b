//! State kept across packets (per instance: one per CPU in the kernel).

use core::cell::RefCell;

/// A value a filter keeps across packets, in a `static`.
///
/// Each instance has its own memory, so in the kernel each CPU has its own
/// copy (like an eBPF per-CPU map).
pub struct State<T>(RefCell<T>);

// SAFETY: a wasm32-unknown-unknown filter is single-threaded, so the `static`
// is never touched from two threads; `RefCell` catches re-entrant misuse
// (which traps instead of aliasing).
unsafe impl<T> Sync for State<T> {}

impl<T> State<T> {
    /// A new state holding `value`.
    pub const fn new(value: T) -> Self {
        State(RefCell::new(value))
    }

    /// Replaces the value.
    pub fn set(&self, value: T) {
        *self.0.borrow_mut() = value;
    }

    /// Runs `f` on the value.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}

impl<T: Copy> State<T> {
    /// A copy of the value.
    pub fn get(&self) -> T {
        *self.0.borrow()
    }
}
