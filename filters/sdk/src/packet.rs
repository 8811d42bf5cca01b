//! The packet a filter is deciding on, read in place.

use crate::sys;

/// The netfilter hook the packet is at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Before routing.
    Prerouting,
    /// Packets for this host.
    Input,
    /// Routed packets.
    Forward,
    /// Locally generated packets.
    Output,
    /// After routing.
    Postrouting,
}

/// The packet's protocol family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The packet starts with an IPv4 header.
    Ipv4,
    /// The packet starts with an IPv6 header.
    Ipv6,
}

/// The hook context of the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    /// The hook (`None` only if a newer host reports one this SDK predates).
    pub hook: Option<Hook>,
    /// IPv4 or IPv6 (`None` as for `hook`).
    pub family: Option<Family>,
    /// Input interface index, 0 if none.
    pub iif: u32,
    /// Output interface index, 0 if none.
    pub oif: u32,
    /// The packet mark.
    pub mark: u32,
    /// Nanoseconds: monotonic time in the kernel, capture time in replay.
    pub tstamp_ns: u64,
}

/// The packet, from its network header on (no link-layer header).
///
/// Every accessor returns `None` when the bytes it needs are past the end of
/// the packet, so a filter never reads out of bounds.
#[derive(Clone, Copy, Debug)]
pub struct Packet {
    len: usize,
    /// Leading bytes staged in the window (0 without the `window` feature).
    staged: usize,
}

impl Packet {
    /// The packet of the current call.
    pub(crate) fn current(len: usize) -> Packet {
        #[cfg(feature = "window")]
        let staged =
            (sys::window::u32_le(sys::window::STAGED) as usize).min(sys::window::PACKET_MAX);
        #[cfg(not(feature = "window"))]
        let staged = 0;
        Packet {
            len,
            staged: staged.min(len),
        }
    }

    /// The packet's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The protocol family the hook reports (cheaper than [`Packet::ctx`]).
    #[inline]
    pub fn family(&self) -> Option<Family> {
        #[cfg(feature = "window")]
        let family = sys::window::u32_le(sys::window::FAMILY);
        #[cfg(not(feature = "window"))]
        let family = sys::ctx_field(2) as u32;
        match family {
            2 => Some(Family::Ipv4),
            10 => Some(Family::Ipv6),
            _ => None,
        }
    }

    /// The hook context.
    pub fn ctx(&self) -> Ctx {
        #[cfg(feature = "window")]
        let (hook, iif, oif, mark, tstamp_ns) = {
            use sys::window::*;
            (
                u32_le(HOOK),
                u32_le(IIF),
                u32_le(OIF),
                u32_le(MARK),
                u64::from_le_bytes(bytes::<8>(TSTAMP_NS)),
            )
        };
        #[cfg(not(feature = "window"))]
        let (hook, iif, oif, mark, tstamp_ns) = (
            sys::ctx_field(1) as u32,
            sys::ctx_field(3) as u32,
            sys::ctx_field(4) as u32,
            sys::ctx_field(5) as u32,
            sys::ctx_field(6),
        );
        Ctx {
            hook: match hook {
                0 => Some(Hook::Prerouting),
                1 => Some(Hook::Input),
                2 => Some(Hook::Forward),
                3 => Some(Hook::Output),
                4 => Some(Hook::Postrouting),
                _ => None,
            },
            family: self.family(),
            iif,
            oif,
            mark,
            tstamp_ns,
        }
    }

    /// Whether `[off, off + n)` is inside the packet; whether it is staged.
    #[inline(always)]
    fn locate(&self, off: usize, n: usize) -> Option<bool> {
        let end = off.checked_add(n)?;
        (end <= self.len).then_some(end <= self.staged)
    }

    /// The byte at `off`.
    #[inline]
    pub fn u8(&self, off: usize) -> Option<u8> {
        Some(match self.locate(off, 1)? {
            #[cfg(feature = "window")]
            true => sys::window::bytes::<1>(sys::window::PACKET + off)[0],
            _ => sys::read_u8(off),
        })
    }

    /// The big-endian `u16` at `off`.
    #[inline]
    pub fn u16(&self, off: usize) -> Option<u16> {
        Some(match self.locate(off, 2)? {
            #[cfg(feature = "window")]
            true => u16::from_be_bytes(sys::window::bytes::<2>(sys::window::PACKET + off)),
            _ => sys::read_u16(off),
        })
    }

    /// The big-endian `u32` at `off`.
    #[inline]
    pub fn u32(&self, off: usize) -> Option<u32> {
        Some(match self.locate(off, 4)? {
            #[cfg(feature = "window")]
            true => u32::from_be_bytes(sys::window::bytes::<4>(sys::window::PACKET + off)),
            _ => sys::read_u32(off),
        })
    }

    /// The bytes at `off` into `dst`, all or nothing: `None` if fewer than
    /// `N` bytes remain.
    pub fn array<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        #[cfg(feature = "window")]
        if self.locate(off, N)? {
            return Some(sys::window::bytes::<N>(sys::window::PACKET + off));
        }
        let mut out = [0u8; N];
        (self.read(off, &mut out) == N).then_some(out)
    }

    /// Copies bytes from `off` into `dst`, as many as the packet has; returns
    /// how many were copied.
    pub fn read(&self, off: usize, dst: &mut [u8]) -> usize {
        if off >= self.len || dst.is_empty() {
            return 0;
        }
        let n = dst.len().min(self.len - off);
        #[cfg(feature = "window")]
        if off + n <= self.staged {
            let base = sys::window::PACKET + off;
            for (i, b) in dst[..n].iter_mut().enumerate() {
                *b = sys::window::bytes::<1>(base + i)[0];
            }
            return n;
        }
        sys::read_into(off, &mut dst[..n])
    }
}
