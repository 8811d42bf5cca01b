// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks: register a Rust callback at an inet hook point of a
//! network namespace.

use crate::bindings;
use crate::net::netns::Net;
use crate::net::skb::SkBuff;
use crate::net::sync::ReadSide;
use kernel::error::to_result;
use kernel::ffi::{c_uint, c_void};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a hook decides for a packet: netfilter's own verdict number, only
/// ever `NF_ACCEPT` or `NF_DROP`.
///
/// # Invariants
///
/// The value is `NF_ACCEPT` or `NF_DROP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict(u32);

impl Verdict {
    /// Let the packet continue (to the next hook of higher priority).
    pub(crate) const ACCEPT: Verdict = Verdict(bindings::NF_ACCEPT);
    /// Drop the packet; later hooks do not see it.
    pub(crate) const DROP: Verdict = Verdict(bindings::NF_DROP);

    /// The verdict numbered `nf`: `NF_DROP` drops, anything else accepts
    /// (a number like `NF_STOLEN` or `NF_QUEUE` would hand the skb to a
    /// path this hook never set up).
    #[inline]
    pub(crate) fn from_nf(nf: u32) -> Verdict {
        if nf == bindings::NF_DROP {
            Verdict::DROP
        } else {
            Verdict::ACCEPT
        }
    }
}

// The contract's numbers (what userspace sends in `HOOK` and `FAMILY`)
// are this kernel's.
const _: () = {
    use crate::contract::genl::{family, hook};
    assert!(hook::PREROUTING == bindings::nf_inet_hooks_NF_INET_PRE_ROUTING);
    assert!(hook::INPUT == bindings::nf_inet_hooks_NF_INET_LOCAL_IN);
    assert!(hook::FORWARD == bindings::nf_inet_hooks_NF_INET_FORWARD);
    assert!(hook::OUTPUT == bindings::nf_inet_hooks_NF_INET_LOCAL_OUT);
    assert!(hook::POSTROUTING == bindings::nf_inet_hooks_NF_INET_POST_ROUTING);
    assert!(family::INET == bindings::NFPROTO_INET);
    assert!(family::IPV4 == bindings::NFPROTO_IPV4);
    assert!(family::IPV6 == bindings::NFPROTO_IPV6);
};

/// A protocol family of hooks (`NFPROTO_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 and IPv6 (`NFPROTO_INET`: netfilter registers the hook for both).
    Inet,
    /// IPv4 (`NFPROTO_IPV4`).
    Ipv4,
    /// IPv6 (`NFPROTO_IPV6`).
    Ipv6,
}

impl Family {
    fn as_raw(self) -> u8 {
        let raw = match self {
            Family::Inet => bindings::NFPROTO_INET,
            Family::Ipv4 => bindings::NFPROTO_IPV4,
            Family::Ipv6 => bindings::NFPROTO_IPV6,
        };
        raw as u8
    }

    /// The `NFPROTO_*` number.
    pub(crate) fn number(self) -> u32 {
        self.as_raw().into()
    }

    /// The family with `NFPROTO_*` number `n` (1 inet, 2 IPv4, 10 IPv6).
    pub(crate) fn from_number(n: u32) -> Option<Family> {
        [Family::Inet, Family::Ipv4, Family::Ipv6]
            .into_iter()
            .find(|f| f.number() == n)
    }
}

/// An inet hook point (`enum nf_inet_hooks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    const ALL: [HookPoint; 5] = [
        HookPoint::PreRouting,
        HookPoint::LocalIn,
        HookPoint::Forward,
        HookPoint::LocalOut,
        HookPoint::PostRouting,
    ];

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

    /// The `NF_INET_*` number (0 prerouting ... 4 postrouting).
    pub(crate) fn number(self) -> u32 {
        self.as_raw()
    }

    /// The hook point with `NF_INET_*` number `n`, if it is one of the five.
    pub(crate) fn from_number(n: u32) -> Option<HookPoint> {
        HookPoint::ALL.into_iter().find(|h| h.number() == n)
    }
}

/// The hook state netfilter passes with a packet (`struct nf_hook_state`),
/// borrowed for one hook call.
///
/// # Invariants
///
/// `raw` is valid for reads for `'a`, and its devices (when non-null) are
/// held by the caller for the hook call.
pub(crate) struct HookState<'a> {
    raw: &'a bindings::nf_hook_state,
    rcu: ReadSide<'a>,
}

impl<'a> HookState<'a> {
    /// Evidence of the RCU read-side section netfilter runs hooks in.
    #[inline]
    pub(crate) fn rcu(&self) -> &ReadSide<'a> {
        &self.rcu
    }

    /// `NF_INET_*` hook number.
    #[inline]
    pub(crate) fn hook(&self) -> u32 {
        self.raw.hook.into()
    }

    /// `NFPROTO_*` of this packet (IPv4 or IPv6, also for an inet hook).
    #[inline]
    pub(crate) fn pf(&self) -> u32 {
        self.raw.pf.into()
    }

    /// `dev->ifindex`, 0 for no device.
    #[inline]
    fn ifindex(dev: *mut bindings::net_device) -> u32 {
        if dev.is_null() {
            return 0;
        }
        // `struct net_device` is opaque to bindgen; clang computed the
        // offset of its `int ifindex` from the kernel's definition.
        let at = bindings::WASMNF_NET_DEVICE_IFINDEX_OFFSET as usize;
        // SAFETY: a non-null device in the hook state is held by the caller
        // for the hook call (type invariant), so the whole `struct
        // net_device` is valid for reads; `at` is the offset of its
        // `ifindex` field, an `int` (naturally aligned within the struct).
        let idx = unsafe { dev.cast_const().cast::<u8>().add(at).cast::<i32>().read() };
        idx as u32
    }

    /// Input interface index, 0 if none.
    #[inline]
    pub(crate) fn in_ifindex(&self) -> u32 {
        Self::ifindex(self.raw.in_)
    }

    /// Output interface index, 0 if none.
    #[inline]
    pub(crate) fn out_ifindex(&self) -> u32 {
        Self::ifindex(self.raw.out)
    }
}

/// A netfilter hook's behaviour.
///
/// `hook` runs in softirq context, or in process context on output paths
/// (bottom halves then possibly enabled), on any CPU, concurrently, always
/// inside an RCU read-side critical section (netfilter holds
/// `rcu_read_lock` around its hook list): it must not sleep, and shared
/// state needs `Sync`.
pub(crate) trait PacketHook: Send + Sync + 'static {
    /// Decides the fate of one packet.
    fn hook(&self, skb: &SkBuff, state: &HookState<'_>) -> Verdict;
}

struct Inner<T: PacketHook> {
    ops: Opaque<bindings::nf_hook_ops>,
    data: T,
}

/// A hook registered in one network namespace; unregistered on drop.
///
/// # Invariants
///
/// `inner.ops` is registered with netfilter for the namespace `net`, its
/// `priv` points to `inner.data`, and both stay at their heap address (the
/// box is never moved out of) until `Drop` has unregistered the hook. `net`
/// is alive until then (the constructor's safety contract).
pub(crate) struct Registration<T: PacketHook> {
    inner: KBox<Inner<T>>,
    net: *mut bindings::net,
}

// SAFETY: the registration only holds `T` (which is `Send + Sync`), a
// `struct nf_hook_ops` that netfilter reads from any CPU, and the namespace
// pointer; unregistering from another thread is allowed by netfilter.
unsafe impl<T: PacketHook> Send for Registration<T> {}
// SAFETY: `&Registration` only gives out `&T`, and `T: Sync`.
unsafe impl<T: PacketHook> Sync for Registration<T> {}

/// Evidence, held by whoever owns hook registrations, that each is dropped
/// before its network namespace is freed: the owner's pernet exit drops
/// every registration of a dying namespace, and it drops the rest before
/// the module goes. [`Registration::new`] asks for it.
///
/// # Invariants
///
/// Every [`Registration`] made with a given `NetScope` is dropped before
/// its namespace is freed (the constructor's contract).
pub(crate) struct NetScope {
    _private: (),
}

impl NetScope {
    /// The evidence for an owner of registrations.
    ///
    /// # Safety
    ///
    /// Every registration made with it is dropped before its namespace is
    /// freed: at the latest from that namespace's pernet exit (see
    /// `net::netns`), and all before the module is unloaded.
    pub(crate) unsafe fn new() -> Self {
        NetScope { _private: () }
    }
}

impl<T: PacketHook> Registration<T> {
    /// Registers `data` as a hook for `family` at `point` in `net`, at
    /// `priority` (lower runs first). Process context only (netfilter may
    /// sleep while registering). `scope` shows the registration is dropped
    /// before `net` is freed.
    pub(crate) fn new(
        net: &Net,
        family: Family,
        point: HookPoint,
        priority: i32,
        data: T,
        _scope: &NetScope,
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
        // SAFETY: `net` is alive (`&Net`) and outlives the registration
        // (`NetScope`'s invariant); `ops` is fully initialised and, by the type
        // invariant established here, stays at this address until `Drop`.
        // For `NFPROTO_INET` netfilter registers the IPv4 and IPv6 hooks, or
        // neither.
        to_result(unsafe { bindings::nf_register_net_hook(net.as_ptr(), ops) })?;
        Ok(Self {
            inner,
            net: net.as_ptr(),
        })
    }

    /// The hook's data.
    pub(crate) fn data(&self) -> &T {
        &self.inner.data
    }
}

impl<T: PacketHook> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `ops` is registered for `net`, which
        // is alive.
        unsafe { bindings::nf_unregister_net_hook(self.net, self.inner.ops.get()) };
        // `nf_unregister_net_hook` does not wait for hooks already running:
        // it swaps the hook for a no-op in the entries a CPU may be walking
        // and frees them after a grace period (`call_rcu`), but a CPU that
        // had already called `hook_trampoline` may still be running it with
        // `inner.data`. Hooks run inside RCU read-side sections
        // (`nf_hook()`), so once a grace period has elapsed none is left,
        // and `inner` (with `data`) may be freed when `self` is. Drop runs
        // in process context (unload, namespace exit, module exit).
        // tests/vm/nl_fuzz.sh found this: with the wait missing, a packet
        // on another CPU read the freed slot's runtime (a null pointer).
        let _elapsed = crate::net::cpu::synchronize_rcu();
    }
}

/// The C-ABI hook netfilter calls; forwards to `T::hook`.
///
/// # Safety
///
/// Called by netfilter only, with the `priv` of an `nf_hook_ops` set up by
/// [`Registration::new`], a valid skb and a valid hook state.
unsafe extern "C" fn hook_trampoline<T: PacketHook>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> c_uint {
    // SAFETY: `priv_` is the `&inner.data` stored at registration; the
    // registration keeps it alive until unregistration, which waits for
    // running hooks to finish.
    let data = unsafe { &*priv_.cast_const().cast::<T>() };
    // SAFETY: netfilter passes an skb that the caller owns and does not
    // change for the duration of the hook.
    let skb = unsafe { SkBuff::from_raw(skb) };
    let state = HookState {
        // SAFETY: netfilter passes a valid state, with its devices held, for
        // the duration of the hook.
        raw: unsafe { &*state },
        // SAFETY: netfilter calls hooks inside an RCU read-side critical
        // section (it holds `rcu_read_lock` while walking its hook list),
        // which lasts the whole call; `state` does not outlive it.
        rcu: unsafe { ReadSide::assume() },
    };
    // The verdict is `NF_ACCEPT` or `NF_DROP` (type invariant).
    data.hook(skb, &state).0 as c_uint
}
