// SPDX-License-Identifier: GPL-2.0

//! Generic netlink: a family with an attribute policy, request handlers
//! that read attributes and answer with extended-ack messages, replies, and
//! dumps that span several messages.
//!
//! The kernel's genetlink core does the first line of defence: with the
//! policy given here (strict validation, `resv_start_op` 0) it rejects a
//! message with an unknown attribute, a wrong type or length, or an
//! out-of-range integer before a handler runs, and `GENL_UNS_ADMIN_PERM`
//! refuses callers without `CAP_NET_ADMIN` in their namespace's user
//! namespace.

use crate::bindings;
use crate::net::netns::Net;
use core::ffi::{c_int, c_void, CStr};
use core::fmt::{self, Write};
use core::marker::PhantomData;
use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

/// `NLMSG_HDRLEN`: the netlink header, 4-byte aligned (a macro bindgen
/// cannot translate).
const NLMSG_HDRLEN: usize = (core::mem::size_of::<bindings::nlmsghdr>() + 3) & !3;
/// `GENL_HDRLEN`: the generic-netlink header, 4-byte aligned.
const GENL_HDRLEN: usize = (core::mem::size_of::<bindings::genlmsghdr>() + 3) & !3;

/// `EMSGSIZE`: the message has no room left.
pub(crate) fn emsgsize() -> Error {
    Error::from_errno(-(kernel::bindings::EMSGSIZE as i32))
}

/// How one attribute is validated by the kernel's parser.
#[derive(Clone, Copy)]
pub(crate) enum AttrPolicy {
    /// Must not appear in requests; rejected with this message.
    Reject(&'static CStr),
    /// `u8` in `min..=max`.
    U8 { min: i16, max: i16 },
    /// `u32` in `min..=max` (each fits `i16`).
    U32Range { min: i16, max: i16 },
    /// Any `u32`.
    U32,
    /// Any `s32`.
    S32,
    /// `u64` in `min..=max`.
    U64Range { min: u64, max: u64 },
    /// A NUL-terminated string of at most `max_len` bytes before the NUL.
    NulString { max_len: u16 },
    /// Binary of `min..=max` bytes.
    Binary { min: u16, max: u16 },
    /// A flag (no payload).
    Flag,
}

/// One command of a family.
pub(crate) struct OpSpec {
    /// Command number.
    pub(crate) cmd: u8,
    /// Has a `do` handler.
    pub(crate) doit: bool,
    /// Has a `dump` handler.
    pub(crate) dumpit: bool,
}

/// What a family does with requests. Handlers run in process context with
/// the genetlink mutex held (the family is not `parallel_ops`): they may
/// sleep.
pub(crate) trait Handler: 'static {
    /// A `do` request for `cmd`. An error is returned to the caller as a
    /// negative errno, with the message set by [`Request::set_error`].
    fn doit(cmd: u8, req: &mut Request<'_>) -> Result;
    /// One round of a dump for `cmd`: add entries until full, keeping the
    /// position in [`Dump::position`]. A round that adds nothing ends it.
    fn dumpit(cmd: u8, dump: &mut Dump<'_>) -> Result;
}

struct Inner {
    family: Opaque<bindings::genl_family>,
    ops: KVec<bindings::genl_ops>,
    policy: KVec<bindings::nla_policy>,
    ranges: KVec<bindings::netlink_range_validation>,
}

/// A registered generic-netlink family; unregistered on drop.
///
/// # Invariants
///
/// `inner.family` is registered, and it, its ops, policy and ranges stay at
/// their heap addresses (never pushed to after registration) until `Drop`.
pub(crate) struct Registration<T: Handler> {
    inner: KBox<Inner>,
    _t: PhantomData<T>,
}

// SAFETY: the registration holds data the kernel reads from any CPU and
// never changes after registration; unregistering from another thread is
// allowed.
unsafe impl<T: Handler> Send for Registration<T> {}
// SAFETY: `&Registration` gives access to nothing.
unsafe impl<T: Handler> Sync for Registration<T> {}

fn policy_entry(
    p: AttrPolicy,
    ranges: &mut KVec<bindings::netlink_range_validation>,
) -> bindings::nla_policy {
    let mut e = bindings::nla_policy::default();
    let range = |e: &mut bindings::nla_policy, min: i16, max: i16| {
        e.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_RANGE as u8;
        e.__bindgen_anon_1.__bindgen_anon_1 =
            bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 { min, max };
    };
    match p {
        AttrPolicy::Reject(msg) => {
            e.type_ = bindings::NLA_REJECT as u8;
            e.__bindgen_anon_1.reject_message = msg.as_ptr().cast();
        }
        AttrPolicy::U8 { min, max } => {
            e.type_ = bindings::NLA_U8 as u8;
            range(&mut e, min, max);
        }
        AttrPolicy::U32Range { min, max } => {
            e.type_ = bindings::NLA_U32 as u8;
            range(&mut e, min, max);
        }
        AttrPolicy::U32 => e.type_ = bindings::NLA_U32 as u8,
        AttrPolicy::S32 => e.type_ = bindings::NLA_S32 as u8,
        AttrPolicy::U64Range { min, max } => {
            e.type_ = bindings::NLA_U64 as u8;
            e.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_RANGE_PTR as u8;
            // `ranges` has its final capacity (see `Registration::new`), so
            // this push does not move earlier entries.
            if ranges
                .push(bindings::netlink_range_validation { min, max }, GFP_KERNEL)
                .is_ok()
            {
                if let Some(last) = ranges.last() {
                    e.__bindgen_anon_1.range = last;
                }
            }
        }
        AttrPolicy::NulString { max_len } => {
            e.type_ = bindings::NLA_NUL_STRING as u8;
            e.len = max_len;
        }
        AttrPolicy::Binary { min, max } => {
            // The maximum length goes in `len` (checked for NLA_BINARY); a
            // minimum is a MIN check on the length. `min`/`max` of the
            // union must stay non-negative (the parser warns otherwise).
            e.type_ = bindings::NLA_BINARY as u8;
            e.len = max;
            if min > 0 {
                e.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_MIN as u8;
                e.__bindgen_anon_1.__bindgen_anon_1 =
                    bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 {
                        min: min.min(i16::MAX as u16) as i16,
                        max: 0,
                    };
            }
        }
        AttrPolicy::Flag => e.type_ = bindings::NLA_FLAG as u8,
    }
    e
}

impl<T: Handler> Registration<T> {
    /// Registers family `name` (at most 15 bytes), `version`, with
    /// `policy[i]` for attribute `i + 1` and the commands `ops`. Every
    /// command requires `CAP_NET_ADMIN` over the caller's network namespace
    /// (`GENL_UNS_ADMIN_PERM`) and is strictly validated; the family is
    /// `netnsok` (handlers see the caller's namespace). Process context.
    pub(crate) fn new(
        name: &CStr,
        version: u32,
        policy: &[AttrPolicy],
        ops: &[OpSpec],
        module: &'static ThisModule,
    ) -> Result<Self> {
        let name = name.to_bytes();
        if name.len() >= bindings::GENL_NAMSIZ as usize || ops.len() > u8::MAX as usize {
            return Err(EINVAL);
        }
        let n_ranges = policy
            .iter()
            .filter(|p| matches!(p, AttrPolicy::U64Range { .. }))
            .count();
        let mut inner = KBox::new(
            Inner {
                family: Opaque::uninit(),
                ops: KVec::with_capacity(ops.len(), GFP_KERNEL)?,
                policy: KVec::with_capacity(policy.len() + 1, GFP_KERNEL)?,
                ranges: KVec::with_capacity(n_ranges, GFP_KERNEL)?,
            },
            GFP_KERNEL,
        )?;
        let Inner {
            ops: ops_vec,
            policy: policy_vec,
            ranges,
            ..
        } = &mut *inner;
        // Entry 0 is unused by genetlink (attribute type 0 is invalid).
        policy_vec.push(bindings::nla_policy::default(), GFP_KERNEL)?;
        for p in policy {
            let e = policy_entry(*p, ranges);
            policy_vec.push(e, GFP_KERNEL)?;
        }
        if ranges.len() != n_ranges {
            return Err(ENOMEM);
        }
        for op in ops {
            ops_vec.push(
                bindings::genl_ops {
                    doit: if op.doit {
                        Some(doit_trampoline::<T>)
                    } else {
                        None
                    },
                    dumpit: if op.dumpit {
                        Some(dumpit_trampoline::<T>)
                    } else {
                        None
                    },
                    cmd: op.cmd,
                    flags: bindings::GENL_UNS_ADMIN_PERM as u8,
                    // 0: strict validation for do and dump.
                    validate: 0,
                    ..Default::default()
                },
                GFP_KERNEL,
            )?;
        }
        let mut fam = bindings::genl_family {
            version,
            maxattr: policy.len() as u32,
            policy: policy_vec.as_ptr(),
            ops: ops_vec.as_ptr(),
            n_ops: ops_vec.len() as u8,
            resv_start_op: 0,
            module: module.as_ptr().cast(),
            ..Default::default()
        };
        fam.set_netnsok(1);
        for (d, s) in fam.name.iter_mut().zip(name) {
            *d = *s as _;
        }
        let family = inner.family.get();
        // SAFETY: `family` points into the live box, valid for writes;
        // nothing else references it yet.
        unsafe { family.write(fam) };
        // SAFETY: the family, its ops, policy and ranges are initialised and
        // stay at their heap addresses until `Drop` (type invariant set
        // up here: nothing pushes to the vectors after this point).
        to_result(unsafe { bindings::genl_register_family(family) })?;
        Ok(Self {
            inner,
            _t: PhantomData,
        })
    }
}

impl<T: Handler> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: the family is registered (type invariant). Unregistering
        // waits for running handlers and ends running dumps.
        unsafe { bindings::genl_unregister_family(self.inner.family.get()) };
    }
}

/// The attributes of a message, in order, as `(type, payload)`.
pub(crate) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// The attributes of the genetlink message at `nlh`.
    ///
    /// # Safety
    ///
    /// `nlh` is a message genetlink accepted (`nlmsg_len` covers the
    /// netlink and genl headers and lies inside the buffer), valid for `'a`.
    unsafe fn of(nlh: *const bindings::nlmsghdr) -> Attrs<'a> {
        // SAFETY: valid for `nlmsg_len` bytes for `'a` (caller's contract).
        let bytes =
            unsafe { core::slice::from_raw_parts(nlh.cast::<u8>(), (*nlh).nlmsg_len as usize) };
        Attrs {
            rest: bytes.get(NLMSG_HDRLEN + GENL_HDRLEN..).unwrap_or(&[]),
        }
    }

    /// The payload of the last attribute of type `ty`, if present.
    pub(crate) fn last_of(self, ty: u16) -> Option<&'a [u8]> {
        self.filter(|(t, _)| *t == ty).map(|(_, p)| p).last()
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([self.rest[0], self.rest[1]]) as usize;
        let ty =
            u16::from_ne_bytes([self.rest[2], self.rest[3]]) & (bindings::NLA_TYPE_MASK as u16);
        if len < 4 || len > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let payload = &self.rest[4..len];
        let aligned = (len + 3) & !3;
        self.rest = self.rest.get(aligned..).unwrap_or(&[]);
        Some((ty, payload))
    }
}

/// Writes a formatted extended-ack message (at most 79 bytes, truncated on a
/// character boundary) into `extack`.
fn set_extack(extack: *mut bindings::netlink_ext_ack, args: fmt::Arguments<'_>) {
    struct Buf<'b> {
        buf: &'b mut [u8],
        len: usize,
    }
    impl Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                let mut tmp = [0u8; 4];
                let bytes = c.encode_utf8(&mut tmp).as_bytes();
                // Keep one byte for the NUL.
                if self.len + bytes.len() >= self.buf.len() {
                    return Err(fmt::Error);
                }
                self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
                self.len += bytes.len();
            }
            Ok(())
        }
    }
    if extack.is_null() {
        return;
    }
    // SAFETY: a non-null extack from genetlink is valid for writes for the
    // request; `_msg_buf` is its own buffer for formatted messages
    // (what `NL_SET_ERR_MSG_FMT` fills), and `_msg` may point there.
    unsafe {
        let msg_buf = &mut (*extack)._msg_buf;
        let bytes =
            core::slice::from_raw_parts_mut(msg_buf.as_mut_ptr().cast::<u8>(), msg_buf.len());
        let mut w = Buf { buf: bytes, len: 0 };
        let _ = w.write_fmt(args);
        let n = w.len;
        bytes[n] = 0;
        (*extack)._msg = msg_buf.as_ptr();
    }
}

/// A `do` request being handled.
///
/// # Invariants
///
/// `skb` and `info` are the request's, valid for `'a` (the handler call).
pub(crate) struct Request<'a> {
    info: *mut bindings::genl_info,
    _p: PhantomData<&'a ()>,
}

impl<'a> Request<'a> {
    /// The caller's network namespace.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: `info` is valid (invariant); the request's namespace is
        // alive while the request is handled (the socket holds it).
        unsafe { Net::from_raw(bindings::wasmnf_helper_genl_info_net(self.info)) }
    }

    /// Every attribute of the request, in message order (repeated
    /// attributes appear each time).
    pub(crate) fn attrs(&self) -> Attrs<'_> {
        // SAFETY: `info` and its `nlhdr` are valid for the call (invariant);
        // genetlink checked that `nlmsg_len` covers the netlink and genl
        // headers and lies inside the received buffer.
        unsafe { Attrs::of((*self.info).nlhdr) }
    }

    /// The payload of the last attribute of type `ty`, if present.
    pub(crate) fn attr(&self, ty: u16) -> Option<&[u8]> {
        self.attrs().last_of(ty)
    }

    /// Sets the extended-ack message returned with the error.
    pub(crate) fn set_error(&mut self, args: fmt::Arguments<'_>) {
        // SAFETY: `info` is valid (invariant).
        set_extack(unsafe { (*self.info).extack }, args);
    }

    /// A reply to this request for `cmd`, with room for `payload` bytes of
    /// attributes.
    pub(crate) fn reply(&self, cmd: u8, payload: usize) -> Result<Reply> {
        // SAFETY: allocates with GFP_KERNEL (process context).
        let skb = unsafe { bindings::wasmnf_helper_genlmsg_new(payload) };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `info` is valid; `skb` is a fresh message with room for the
        // headers; the family pointer is the request's.
        let hdr = unsafe {
            bindings::genlmsg_put(
                skb,
                (*self.info).snd_portid,
                (*self.info).snd_seq,
                (*self.info).family,
                0,
                cmd,
            )
        };
        let reply = Reply {
            w: Writer { skb, hdr },
        };
        if hdr.is_null() {
            return Err(emsgsize());
        }
        Ok(reply)
    }

    /// Sends `reply` to the requester.
    pub(crate) fn send(&self, reply: Reply) -> Result {
        let Writer { skb, hdr } = reply.w;
        core::mem::forget(reply);
        // SAFETY: `skb` holds a message begun at `hdr`; `genlmsg_reply`
        // consumes the skb whatever its result; `info` is valid.
        unsafe {
            bindings::wasmnf_helper_genlmsg_end(skb, hdr);
            to_result(bindings::wasmnf_helper_genlmsg_reply(skb, self.info))
        }
    }
}

/// Writes attributes into a message being built.
///
/// # Invariants
///
/// `skb` is a live netlink message whose current message begins at `hdr`.
pub(crate) struct Writer {
    skb: *mut bindings::sk_buff,
    hdr: *mut c_void,
}

impl Writer {
    fn put(&mut self, ty: u16, data: &[u8]) -> Result {
        // SAFETY: `skb` is live (invariant); `data` is valid for its length;
        // `nla_put` checks the room left and fails with -EMSGSIZE.
        to_result(unsafe {
            bindings::nla_put(
                self.skb,
                ty.into(),
                data.len() as c_int,
                data.as_ptr().cast(),
            )
        })
    }

    /// Puts a `u8`.
    pub(crate) fn put_u8(&mut self, ty: u16, v: u8) -> Result {
        self.put(ty, &[v])
    }

    /// Puts a `u32`.
    pub(crate) fn put_u32(&mut self, ty: u16, v: u32) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Puts an `s32`.
    pub(crate) fn put_s32(&mut self, ty: u16, v: i32) -> Result {
        self.put(ty, &v.to_ne_bytes())
    }

    /// Puts a `u64`, aligned with a `pad` attribute as needed.
    pub(crate) fn put_u64(&mut self, ty: u16, v: u64, pad: u16) -> Result {
        let b = v.to_ne_bytes();
        // SAFETY: as in `put`.
        to_result(unsafe {
            bindings::nla_put_64bit(self.skb, ty.into(), 8, b.as_ptr().cast(), pad.into())
        })
    }

    /// Puts binary data.
    pub(crate) fn put_bytes(&mut self, ty: u16, data: &[u8]) -> Result {
        self.put(ty, data)
    }

    /// Puts a NUL-terminated string.
    pub(crate) fn put_cstr(&mut self, ty: u16, s: &CStr) -> Result {
        self.put(ty, s.to_bytes_with_nul())
    }

    /// Puts a nested attribute filled by `f`.
    pub(crate) fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Writer) -> Result) -> Result {
        // SAFETY: `skb` is live (invariant).
        let start = unsafe { bindings::wasmnf_helper_nla_nest_start(self.skb, ty.into()) };
        if start.is_null() {
            return Err(emsgsize());
        }
        match f(self) {
            Ok(()) => {
                // SAFETY: `start` was returned by `nla_nest_start` on `skb`.
                unsafe { bindings::wasmnf_helper_nla_nest_end(self.skb, start) };
                Ok(())
            }
            Err(e) => {
                // SAFETY: as above.
                unsafe { bindings::wasmnf_helper_nla_nest_cancel(self.skb, start) };
                Err(e)
            }
        }
    }
}

/// A reply being built; freed if dropped unsent.
pub(crate) struct Reply {
    w: Writer,
}

impl Reply {
    /// The attribute writer.
    pub(crate) fn writer(&mut self) -> &mut Writer {
        &mut self.w
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        // SAFETY: the reply owns its unsent skb (`send` forgets it).
        unsafe { bindings::wasmnf_helper_nlmsg_free(self.w.skb) };
    }
}

/// One round of a dump.
///
/// # Invariants
///
/// `skb` and `cb` are the round's, valid for `'a`.
pub(crate) struct Dump<'a> {
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
    _p: PhantomData<&'a ()>,
}

impl<'a> Dump<'a> {
    /// The requester's network namespace.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: `cb->skb` is the request's skb, whose socket holds its
        // namespace for the dump (invariant).
        unsafe { Net::from_raw(bindings::wasmnf_helper_sock_net((*(*self.cb).skb).sk)) }
    }

    /// The attributes of the dump's request, in message order.
    pub(crate) fn attrs(&self) -> Attrs<'a> {
        // SAFETY: `cb->nlh` is the request genetlink accepted, kept for the
        // whole dump (invariant).
        unsafe { Attrs::of((*self.cb).nlh) }
    }

    /// The payload of the request's last attribute of type `ty`.
    pub(crate) fn attr(&self, ty: u16) -> Option<&'a [u8]> {
        self.attrs().last_of(ty)
    }

    /// The dump's position, kept between rounds (starts at 0).
    pub(crate) fn position(&mut self) -> &mut kernel::ffi::c_long {
        // SAFETY: `cb` is valid and exclusively ours during the round;
        // `args` is the long-array view of `ctx`, reserved for the dumper.
        unsafe { &mut (*self.cb).__bindgen_anon_1.args[0] }
    }

    /// Records the generation of the dumped data: if it differs between
    /// rounds, the entries of the later round are flagged
    /// `NLM_F_DUMP_INTR` so the requester can repeat the dump.
    pub(crate) fn set_generation(&mut self, generation: u32) {
        // SAFETY: `cb` is valid and exclusively ours during the round.
        unsafe { (*self.cb).seq = generation.max(1) };
    }

    /// Begins one entry for `cmd`; `None` when the round's buffer is full.
    pub(crate) fn begin(&mut self, cmd: u8) -> Option<DumpEntry<'_>> {
        // SAFETY: `skb`/`cb` are valid (invariant); the family pointer comes
        // from the dump's genl info; `genlmsg_put` checks the room.
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb,
                bindings::wasmnf_helper_netlink_portid((*self.cb).skb),
                (*(*self.cb).nlh).nlmsg_seq,
                bindings::wasmnf_helper_genl_dump_family(self.cb),
                bindings::NLM_F_MULTI as c_int,
                cmd,
            )
        };
        if hdr.is_null() {
            return None;
        }
        // SAFETY: `hdr` was just put in this round's skb.
        unsafe { bindings::wasmnf_helper_genl_dump_check_consistent(self.cb, hdr) };
        Some(DumpEntry {
            w: Writer { skb: self.skb, hdr },
            done: false,
            _p: PhantomData,
        })
    }
}

/// One entry of a dump; cancelled (removed) if dropped before `end`.
pub(crate) struct DumpEntry<'a> {
    w: Writer,
    done: bool,
    _p: PhantomData<&'a mut ()>,
}

impl DumpEntry<'_> {
    /// The attribute writer.
    pub(crate) fn writer(&mut self) -> &mut Writer {
        &mut self.w
    }

    /// Finishes the entry.
    pub(crate) fn end(mut self) {
        // SAFETY: the entry's message begins at `hdr` in `skb` (invariant).
        unsafe { bindings::wasmnf_helper_genlmsg_end(self.w.skb, self.w.hdr) };
        self.done = true;
    }
}

impl Drop for DumpEntry<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: removes the unfinished message begun at `hdr`.
            unsafe { bindings::wasmnf_helper_genlmsg_cancel(self.w.skb, self.w.hdr) };
        }
    }
}

/// # Safety
///
/// Called by genetlink with a request skb and info valid for the call.
unsafe extern "C" fn doit_trampoline<T: Handler>(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> c_int {
    // SAFETY: genetlink passes a valid info with a valid genl header.
    let cmd = unsafe { (*(*info).genlhdr).cmd };
    let mut req = Request {
        info,
        _p: PhantomData,
    };
    match T::doit(cmd, &mut req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by genetlink with a dump skb and callback valid for the call.
unsafe extern "C" fn dumpit_trampoline<T: Handler>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: the dump's request header is valid for the dump; its payload
    // starts with the genl header.
    let cmd = unsafe {
        let nlh = (*cb).nlh;
        (*nlh
            .cast::<u8>()
            .add(NLMSG_HDRLEN)
            .cast::<bindings::genlmsghdr>())
        .cmd
    };
    let mut dump = Dump {
        skb,
        cb,
        _p: PhantomData,
    };
    match T::dumpit(cmd, &mut dump) {
        // SAFETY: `skb` is valid: its length is what this round added.
        Ok(()) => unsafe { (*skb).len as c_int },
        Err(e) => e.to_errno(),
    }
}
