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

    /// The raw `struct sk_buff`.
    #[inline]
    fn raw(&self) -> *const bindings::sk_buff {
        self.0.get().cast_const()
    }

    /// The `headers` group of `struct sk_buff` (bindgen makes the
    /// `struct_group` a union of two identical structs).
    #[inline]
    fn headers(&self) -> &bindings::sk_buff__bindgen_ty_4__bindgen_ty_2 {
        // SAFETY: the skb is valid for reads and unchanged while `&self`
        // lives (type invariant). `headers` is one of the two members of
        // the `struct_group(headers, ...)` union; both members are the same
        // struct of plain integer fields, so either view is valid.
        unsafe { (*self.raw()).__bindgen_anon_4.headers.as_ref() }
    }

    /// The packet's length in bytes (linear and paged parts together).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        // SAFETY: by the type invariant the skb is valid for reads and its
        // `len` field does not change while we hold `&self`.
        let len = unsafe { (*self.raw()).len };
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

    /// The linear part, from `skb->data` on: `skb_headlen()` = `len -
    /// data_len` bytes, readable in place (zero-copy).
    #[inline]
    pub(crate) fn linear(&self) -> &[u8] {
        // SAFETY: by the type invariant the skb is valid for reads and
        // unchanged while `&self` lives.
        let (data, len, data_len) = unsafe {
            let raw = self.raw();
            ((*raw).data, (*raw).len, (*raw).data_len)
        };
        // `data_len <= len` is an skb invariant; checked anyway, as the
        // slice below relies on it.
        let Some(headlen) = len.checked_sub(data_len) else {
            return &[];
        };
        if data.is_null() {
            return &[];
        }
        // SAFETY: `data` points at `skb_headlen()` bytes of linear packet
        // data, which stay valid and unchanged while the skb is held
        // (invariant).
        unsafe { core::slice::from_raw_parts(data.cast_const(), headlen as usize) }
    }

    /// Offset of the network header from `skb->data`
    /// (`skb_network_offset()`: 0 at the netfilter inet hooks; may be
    /// negative in general).
    #[inline]
    pub(crate) fn network_offset(&self) -> isize {
        // SAFETY: the skb is valid for reads (type invariant).
        let (head, data) = unsafe {
            let raw = self.raw();
            ((*raw).head, (*raw).data)
        };
        let nh = self.headers().network_header as usize;
        // skb_network_header() - skb->data, without forming a pointer
        // outside the buffer.
        (head as usize).wrapping_add(nh).wrapping_sub(data as usize) as isize
    }

    /// The packet mark (`skb->mark`).
    #[inline]
    pub(crate) fn mark(&self) -> u32 {
        // SAFETY: `mark` shares a union with `reserved_tailroom` (used only
        // on skbs being built, never on one a hook sees); both are `u32`,
        // so reading it is always a valid integer.
        unsafe { self.headers().__bindgen_anon_4.mark }
    }
}
