// SPDX-License-Identifier: GPL-2.0

//! Synchronization the module builds on, in the style of the kernel's
//! `rust/kernel/sync/`: RCU publication with typed evidence of the read
//! side ([`RcuBox`], [`ReadSide`], [`ReadGuard`]), and a mutex reachable
//! from callbacks through a static ([`GlobalMutex`]).

use crate::bindings;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::sync::Mutex;

/// Evidence that the code holding it runs inside an RCU read-side critical
/// section that lasts at least `'a`: objects read through an [`RcuBox`]
/// with it stay alive for `'a`.
///
/// # Invariants
///
/// An RCU read-side critical section is held on this CPU for all of `'a`.
/// Not `Send`: the section belongs to this CPU (and task).
pub(crate) struct ReadSide<'a> {
    _section: PhantomData<&'a ()>,
    _not_send: PhantomData<*mut ()>,
}

impl ReadSide<'_> {
    /// Evidence of a read-side section the caller knows it is in (netfilter
    /// calls hooks under `rcu_read_lock`).
    ///
    /// # Safety
    ///
    /// An RCU read-side critical section is held for the whole lifetime the
    /// caller chooses.
    pub(crate) unsafe fn assume<'a>() -> ReadSide<'a> {
        ReadSide {
            _section: PhantomData,
            _not_send: PhantomData,
        }
    }
}

/// `rcu_read_lock()` until dropped. Never sleeps; anything that sleeps
/// must not run while it lives.
///
/// # Invariants
///
/// `new` called `rcu_read_lock`; `Drop` calls `rcu_read_unlock` on the same
/// CPU and task (not `Send`).
pub(crate) struct ReadGuard {
    _not_send: PhantomData<*mut ()>,
}

impl ReadGuard {
    /// Enters a read-side critical section. Any context.
    pub(crate) fn new() -> Self {
        // SAFETY: no preconditions; paired with the unlock in `Drop`.
        unsafe { bindings::wasmnf_helper_rcu_read_lock() };
        ReadGuard {
            _not_send: PhantomData,
        }
    }

    /// Evidence of this section, for as long as the guard is borrowed.
    pub(crate) fn side(&self) -> ReadSide<'_> {
        // SAFETY: the section is held while `self` lives (type invariant),
        // so for the borrow's lifetime.
        unsafe { ReadSide::assume() }
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        // SAFETY: pairs with the lock in `new` (type invariant).
        unsafe { bindings::wasmnf_helper_rcu_read_unlock() };
    }
}

/// An object owned by this box and published to RCU readers, who read it
/// without locks ([`RcuBox::get`]) while [`RcuBox::replace`] swaps in a new
/// one and frees the old after a grace period.
///
/// # Invariants
///
/// `ptr` always holds a pointer from `KBox::into_raw` of a live `T`, owned
/// by the box.
pub(crate) struct RcuBox<T> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<KBox<T>>,
}

// SAFETY: the box owns a `T` (so `T: Send` to move or free it elsewhere)
// and hands out `&T` to readers on any CPU (so `T: Sync`).
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}
// SAFETY: through `&RcuBox` other CPUs get `&T` (`T: Sync`) and may
// replace and free the object (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}

impl<T> RcuBox<T> {
    /// Publishes `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        RcuBox {
            ptr: AtomicPtr::new(KBox::into_raw(value)),
            _owns: PhantomData,
        }
    }

    /// The current object (`rcu_dereference`: an acquire load, pairing with
    /// the release in [`RcuBox::replace`], so a reader sees the object fully
    /// built). It stays alive for the read-side section `rcu` proves.
    #[inline]
    pub(crate) fn get<'a>(&'a self, _rcu: &ReadSide<'a>) -> &'a T {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: `p` is live (type invariant). `replace` frees an object
        // only after a grace period that began after it was unpublished,
        // so not before every section that could have read it (this one,
        // which lasts `'a`) has ended; dropping the box needs no borrow of
        // it, which `'a` is.
        unsafe { &*p }
    }

    /// Publishes `value` in place of the current object
    /// (`rcu_assign_pointer`), waits for an RCU grace period (every reader
    /// that may still see the old one has finished), then frees the old
    /// one. Process context, outside any read-side section: sleeps.
    pub(crate) fn replace(&self, value: KBox<T>) {
        let old = self.ptr.swap(KBox::into_raw(value), Ordering::AcqRel);
        crate::net::cpu::synchronize_rcu();
        // SAFETY: `old` came from `KBox::into_raw` (invariant) and was
        // unpublished by the swap, which gave it to this call alone; after
        // the grace period no reader holds it.
        drop(unsafe { KBox::from_raw(old) });
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        let p = self.ptr.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `p` came from `KBox::into_raw` (invariant). Readers borrow
        // the box for as long as they use the object (`get`), so with the
        // box dropped none is left.
        drop(unsafe { KBox::from_raw(p) });
    }
}

/// A mutex that callbacks reach through a `static`, installed by module
/// init ([`GlobalMutex::install`]) and removed when its [`GlobalOwner`]
/// drops. Before and after, [`GlobalMutex::with`] finds nothing.
///
/// # Invariants
///
/// `ptr` is null or points at the mutex pinned in the live [`GlobalOwner`]
/// of this global.
pub(crate) struct GlobalMutex<T> {
    ptr: AtomicPtr<Mutex<T>>,
}

// SAFETY: the global only gives access to `T` under its mutex, from any
// thread (`T: Send`, as for `Mutex<T>`).
unsafe impl<T: Send> Sync for GlobalMutex<T> {}

impl<T: Send> GlobalMutex<T> {
    /// A global with nothing installed.
    pub(crate) const fn new() -> Self {
        GlobalMutex {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Installs `value` behind a new mutex and returns its owner.
    ///
    /// # Safety
    ///
    /// The owner is dropped only when no [`GlobalMutex::with`] call on this
    /// global is running or can start (the callbacks that call it are
    /// unregistered first, which waits for running ones).
    pub(crate) unsafe fn install(&'static self, value: T) -> Result<GlobalOwner<T>> {
        let mutex = KBox::pin_init(kernel::new_mutex!(value), GFP_KERNEL)?;
        let p = (&*mutex as *const Mutex<T>).cast_mut();
        self.ptr.store(p, Ordering::Release);
        Ok(GlobalOwner {
            global: self,
            mutex,
        })
    }

    /// Runs `f` with the value locked. Process context (may sleep). `None`
    /// when nothing is installed.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer is the owner's pinned mutex (type
        // invariant), and the owner outlives every running `with`
        // (`install`'s contract).
        let m = unsafe { &*p };
        let mut guard = m.lock();
        Some(f(&mut guard))
    }
}

/// Owns a [`GlobalMutex`]'s value; dropping it makes the global empty.
pub(crate) struct GlobalOwner<T: 'static> {
    global: &'static GlobalMutex<T>,
    mutex: Pin<KBox<Mutex<T>>>,
}

impl<T: 'static> GlobalOwner<T> {
    /// Runs `f` with the value locked (for the owner's own clean-up).
    pub(crate) fn with_locked<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut guard = self.mutex.lock();
        f(&mut guard)
    }
}

impl<T: 'static> Drop for GlobalOwner<T> {
    fn drop(&mut self) {
        self.global.ptr.store(ptr::null_mut(), Ordering::Release);
    }
}
