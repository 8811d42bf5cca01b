//! A set of address prefixes tested on the packet path with the cheapest
//! integer work: IPv4 as one 32-bit mask-and-compare per prefix, IPv6 as
//! two 64-bit ones, each family in its own array (an IPv4 packet never
//! looks at an IPv6 prefix). Masks are computed when a prefix is added,
//! not per packet.

use crate::net::Cidr;
use core::net::IpAddr;

/// At most `N` prefixes (IPv4 and IPv6 together) for [`PrefixSet::contains`].
pub struct PrefixSet<const N: usize> {
    /// `(network, mask)`, the network already masked.
    v4: [(u32, u32); N],
    n4: usize,
    /// `(network high, network low, mask high, mask low)`.
    v6: [(u64, u64, u64, u64); N],
    n6: usize,
}

impl<const N: usize> PrefixSet<N> {
    /// An empty set.
    pub const fn new() -> Self {
        PrefixSet {
            v4: [(0, 0); N],
            n4: 0,
            v6: [(0, 0, 0, 0); N],
            n6: 0,
        }
    }

    /// Adds `prefix`; `false` if the set already holds `N`.
    pub fn insert(&mut self, prefix: Cidr) -> bool {
        if self.len() >= N {
            return false;
        }
        let bits = u32::from(prefix.prefix());
        match prefix.addr() {
            IpAddr::V4(net) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                self.v4[self.n4] = (u32::from(net) & mask, mask);
                self.n4 += 1;
            }
            IpAddr::V6(net) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let net = u128::from(net) & mask;
                self.v6[self.n6] = (
                    (net >> 64) as u64,
                    net as u64,
                    (mask >> 64) as u64,
                    mask as u64,
                );
                self.n6 += 1;
            }
        }
        true
    }

    /// How many prefixes it holds.
    pub fn len(&self) -> usize {
        self.n4 + self.n6
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `ip` is inside one of the prefixes (of its own family).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => {
                let a = u32::from(ip);
                self.v4[..self.n4]
                    .iter()
                    .any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(ip) => {
                let a = u128::from(ip);
                let (hi, lo) = ((a >> 64) as u64, a as u64);
                self.v6[..self.n6]
                    .iter()
                    .any(|&(nh, nl, mh, ml)| hi & mh == nh && lo & ml == nl)
            }
        }
    }
}

impl<const N: usize> Default for PrefixSet<N> {
    fn default() -> Self {
        PrefixSet::new()
    }
}
