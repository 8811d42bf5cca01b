// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks: register a Rust callback at an inet hook point.

use crate::bindings;
use crate::net::skb::SkBuff;
use kernel::error::to_result;
use kernel::ffi::{c_uint, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a hook decides for a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "complete for the data plane; the skeleton uses one variant"
)]
pub(crate) enum Verdict {
    /// Let the packet continue.
    Accept,
    /// Drop the packet.
    Drop,
}

/// A protocol family of hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "complete for the data plane; the skeleton uses one variant"
)]
pub(crate) enum Family {
    /// IPv4 (`NFPROTO_IPV4`).
    Ipv4,
    /// IPv6 (`NFPROTO_IPV6`).
    Ipv6,
}

impl Family {
    fn as_raw(self) -> u8 {
        let raw = match self {
            Family::Ipv4 => bindings::NFPROTO_IPV4,
            Family::Ipv6 => bindings::NFPROTO_IPV6,
        };
        raw as u8
    }
}

/// An inet hook point (`enum nf_inet_hooks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "complete for the data plane; the skeleton uses one variant"
)]
pub(crate) enum HookPoint {
    /// `NF_INET_PRE_ROUTING`: every received packet, before routing.
    PreRouting,
    /// `NF_INET_LOCAL_IN`: packets for this host.
    LocalIn,
    /// `NF_INET_FORWARD`: forwarded packets.
    Forward,
    /// `NF_INET_LOCAL_OUT`: locally generated packets.
    LocalOut,
    /// `NF_INET_POST_ROUTING`: every sent packet, after routing.
    PostRouting,
}

impl HookPoint {
    fn as_raw(self) -> c_uint {
        let raw = match self {
            HookPoint::PreRouting => bindings::nf_inet_hooks_NF_INET_PRE_ROUTING,
            HookPoint::LocalIn => bindings::nf_inet_hooks_NF_INET_LOCAL_IN,
            HookPoint::Forward => bindings::nf_inet_hooks_NF_INET_FORWARD,
            HookPoint::LocalOut => bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
            HookPoint::PostRouting => bindings::nf_inet_hooks_NF_INET_POST_ROUTING,
        };
        raw as c_uint
    }
}

/// A netfilter hook's behaviour.
///
/// `hook` runs in softirq context (or with bottom halves disabled), on any
/// CPU, concurrently: it must not sleep, and shared state needs `Sync`.
pub(crate) trait Hook: Send + Sync + 'static {
    /// Decides the fate of one packet.
    fn hook(&self, skb: &SkBuff) -> Verdict;
}

struct Inner<T: Hook> {
    ops: Opaque<bindings::nf_hook_ops>,
    data: T,
}

/// A hook registered in the initial network namespace; unregistered on drop.
///
/// # Invariants
///
/// `inner.ops` is registered with netfilter for `init_net`, its `priv`
/// points to `inner.data`, and both stay at their heap address (the box is
/// never moved out of) until `Drop` has unregistered the hook.
pub(crate) struct Registration<T: Hook> {
    inner: KBox<Inner<T>>,
}

// SAFETY: the registration only holds `T` (which is `Send + Sync`) and a
// `struct nf_hook_ops` that netfilter reads from any CPU; unregistering from
// another thread is allowed by netfilter.
unsafe impl<T: Hook> Send for Registration<T> {}
// SAFETY: `&Registration` only gives out `&T`, and `T: Sync`.
unsafe impl<T: Hook> Sync for Registration<T> {}

impl<T: Hook> Registration<T> {
    /// Registers `data` as a hook for `family` at `point` in `init_net`.
    /// Process context only (netfilter may sleep while registering).
    pub(crate) fn new_init_net(
        family: Family,
        point: HookPoint,
        priority: i32,
        data: T,
    ) -> Result<Self> {
        let inner = KBox::new(
            Inner {
                ops: Opaque::uninit(),
                data,
            },
            GFP_KERNEL,
        )?;
        let ops = inner.ops.get();
        let priv_ = (&inner.data as *const T).cast_mut().cast::<c_void>();
        let value = bindings::nf_hook_ops {
            hook: Some(hook_trampoline::<T>),
            priv_,
            pf: family.as_raw(),
            hooknum: point.as_raw(),
            priority,
            ..Default::default()
        };
        // SAFETY: `ops` points into the live allocation of `inner`, valid for
        // writes and suitably aligned; nothing else references it yet.
        unsafe { ops.write(value) };
        // SAFETY: `init_net` is a kernel global that outlives the module;
        // `ops` is fully initialised and, by the type invariant established
        // here, stays at this address until `Drop` unregisters it.
        to_result(unsafe { bindings::nf_register_net_hook(&raw mut bindings::init_net, ops) })?;
        Ok(Self { inner })
    }

    /// The hook's data.
    pub(crate) fn data(&self) -> &T {
        &self.inner.data
    }
}

impl<T: Hook> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `ops` is registered for `init_net`.
        // `nf_unregister_net_hook` waits (synchronize_net) until no CPU is
        // still running the hook, so `inner` may be freed after it returns.
        unsafe {
            bindings::nf_unregister_net_hook(&raw mut bindings::init_net, self.inner.ops.get())
        };
    }
}

/// The C-ABI hook netfilter calls; forwards to `T::hook`.
///
/// # Safety
///
/// Called by netfilter only, with the `priv` of an `nf_hook_ops` set up by
/// [`Registration::new_init_net`] and a valid skb.
unsafe extern "C" fn hook_trampoline<T: Hook>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    _state: *const bindings::nf_hook_state,
) -> c_uint {
    // SAFETY: `priv_` is the `&inner.data` stored at registration; the
    // registration keeps it alive until unregistration, which waits for
    // running hooks to finish.
    let data = unsafe { &*priv_.cast_const().cast::<T>() };
    // SAFETY: netfilter passes an skb that the caller owns and does not
    // change for the duration of the hook.
    let skb = unsafe { SkBuff::from_raw(skb) };
    let verdict = match data.hook(skb) {
        Verdict::Accept => bindings::NF_ACCEPT,
        Verdict::Drop => bindings::NF_DROP,
    };
    verdict as c_uint
}
