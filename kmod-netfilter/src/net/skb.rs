// SPDX-License-Identifier: GPL-2.0

//! Socket buffers, as seen by a netfilter hook.

use crate::bindings;
use kernel::types::Opaque;

/// A socket buffer borrowed for the duration of one hook call.
///
/// # Invariants
///
/// The wrapped `struct sk_buff` is valid for reads for the lifetime of every
/// `&SkBuff`, and its length and data are not changed by anyone else while
/// the reference exists (netfilter hands a hook an skb that the hook's caller
/// owns until the hook returns).
#[repr(transparent)]
pub(crate) struct SkBuff(Opaque<bindings::sk_buff>);

impl SkBuff {
    /// Borrows a raw `struct sk_buff`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct sk_buff` that stays valid, and is
    /// modified by no one else, for the whole lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::sk_buff) -> &'a SkBuff {
        // SAFETY: `SkBuff` is `repr(transparent)` over `Opaque<sk_buff>`, which
        // has the layout of `sk_buff`; the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<SkBuff>() }
    }

    /// The packet's length in bytes (linear and paged parts together).
    pub(crate) fn len(&self) -> usize {
        // SAFETY: by the type invariant the skb is valid for reads and its
        // `len` field does not change while we hold `&self`.
        let len = unsafe { (*self.0.get()).len };
        len as usize
    }

    /// Copies `buf.len()` bytes starting at `offset` (from the network
    /// header at PRE_ROUTING) into `buf`, whether the bytes are in the linear
    /// part or in fragments. Returns `false`, leaving `buf` unspecified, when
    /// the range is not inside the packet.
    pub(crate) fn copy_to(&self, offset: usize, buf: &mut [u8]) -> bool {
        let (Ok(off), Ok(len)) = (i32::try_from(offset), i32::try_from(buf.len())) else {
            return false;
        };
        if off.checked_add(len).is_none() {
            return false;
        }
        let dst = buf.as_mut_ptr();
        // SAFETY: the skb is valid (type invariant); `dst` is valid for writes
        // of `len` bytes; `off` and `len` are non-negative.
        // `skb_header_pointer` does not sleep and may be called in softirq.
        let src = unsafe {
            bindings::wasmnf_helper_skb_header_pointer(self.0.get(), off, len, dst.cast())
        };
        if src.is_null() {
            return false;
        }
        if src.cast::<u8>() != dst.cast_const() {
            // SAFETY: a non-null result other than `dst` points into the skb's
            // linear data, valid for `len` bytes of reads while the skb is
            // held (type invariant); it cannot overlap the caller's `buf`.
            unsafe { core::ptr::copy_nonoverlapping(src.cast::<u8>(), dst, buf.len()) };
        }
        true
    }

    /// The linear part, from `skb->data` on: `skb_headlen()` bytes, readable
    /// in place (zero-copy).
    pub(crate) fn linear(&self) -> &[u8] {
        // SAFETY: by the type invariant the skb is valid for reads and
        // unchanged while `&self` lives; `skb_headlen` has no other
        // precondition.
        let (data, headlen) = unsafe {
            (
                (*self.0.get()).data,
                bindings::wasmnf_helper_skb_headlen(self.0.get()),
            )
        };
        if data.is_null() || headlen == 0 {
            return &[];
        }
        // SAFETY: `data` points at `headlen` bytes of linear packet data,
        // which stay valid and unchanged while the skb is held (invariant).
        unsafe { core::slice::from_raw_parts(data.cast_const(), headlen as usize) }
    }

    /// Offset of the network header from `skb->data` (0 at the netfilter
    /// inet hooks; may be negative in general).
    pub(crate) fn network_offset(&self) -> i32 {
        // SAFETY: the skb is valid for reads (type invariant).
        unsafe { bindings::wasmnf_helper_skb_network_offset(self.0.get()) }
    }

    /// The packet mark (`skb->mark`).
    pub(crate) fn mark(&self) -> u32 {
        // SAFETY: the skb is valid for reads (type invariant).
        unsafe { bindings::wasmnf_helper_skb_mark(self.0.get()) }
    }
}
