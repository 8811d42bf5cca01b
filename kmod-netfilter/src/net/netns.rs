// SPDX-License-Identifier: GPL-2.0

//! Network namespaces: a borrowed `struct net`, and per-namespace exit
//! callbacks (`register_pernet_subsys`).

use crate::bindings;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A network namespace, borrowed.
///
/// # Invariants
///
/// The wrapped `struct net` is alive for the lifetime of every `&Net`.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

/// A namespace's identity (its address), for keying per-namespace state.
/// Addresses can be reused after a namespace is freed; state keyed by it
/// must therefore be dropped in the namespace's pernet exit (see
/// [`PernetRegistration`]), which runs before the namespace is freed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct NetKey(usize);

impl Net {
    /// Borrows a raw `struct net`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live namespace for the whole lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net) -> &'a Net {
        // SAFETY: `Net` is `repr(transparent)` over `Opaque<net>`; the caller
        // guarantees the namespace lives for `'a`.
        unsafe { &*ptr.cast::<Net>() }
    }

    /// The raw pointer, for the bindings in `crate::net`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// This namespace's identity.
    pub(crate) fn key(&self) -> NetKey {
        NetKey(self.0.get() as usize)
    }
}

/// What a [`PernetRegistration`] does when a namespace goes away.
pub(crate) trait PernetExit: 'static {
    /// Called once for each namespace that is dismantled while registered,
    /// and for every live namespace when the registration is dropped.
    /// Process context; may sleep.
    fn exit(net: &Net);
}

/// Pernet operations registered with `register_pernet_subsys`;
/// unregistered on drop (which calls [`PernetExit::exit`] for every live
/// namespace).
///
/// # Invariants
///
/// `ops` is registered and stays at its heap address until `Drop`.
pub(crate) struct PernetRegistration<T: PernetExit> {
    ops: KBox<Opaque<bindings::pernet_operations>>,
    _t: core::marker::PhantomData<T>,
}

// SAFETY: the registration holds only the ops structure, which the kernel
// reads from any CPU; unregistering from another thread is allowed.
unsafe impl<T: PernetExit> Send for PernetRegistration<T> {}
// SAFETY: `&PernetRegistration` gives access to nothing.
unsafe impl<T: PernetExit> Sync for PernetRegistration<T> {}

impl<T: PernetExit> PernetRegistration<T> {
    /// Registers the exit callback. Process context.
    pub(crate) fn new() -> Result<Self> {
        let ops: KBox<Opaque<bindings::pernet_operations>> =
            KBox::new(Opaque::uninit(), GFP_KERNEL)?;
        let value = bindings::pernet_operations {
            exit: Some(exit_trampoline::<T>),
            ..Default::default()
        };
        // SAFETY: `ops.get()` is valid for writes and aligned; unshared.
        unsafe { ops.get().write(value) };
        // SAFETY: `ops` is initialised and stays at this heap address until
        // `Drop` unregisters it (type invariant established here).
        to_result(unsafe { bindings::register_pernet_subsys(ops.get()) })?;
        Ok(Self {
            ops,
            _t: core::marker::PhantomData,
        })
    }
}

impl<T: PernetExit> Drop for PernetRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: `ops` is registered (type invariant). Unregistering calls
        // `exit` for every live namespace and returns when none runs.
        unsafe { bindings::unregister_pernet_subsys(self.ops.get()) };
    }
}

/// # Safety
///
/// Called by the pernet core with a namespace that is alive for the call.
unsafe extern "C" fn exit_trampoline<T: PernetExit>(net: *mut bindings::net) {
    // SAFETY: the namespace lives for the call (pernet core's contract).
    T::exit(unsafe { Net::from_raw(net) });
}
