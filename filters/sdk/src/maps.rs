//! Maps: key-value state the host keeps for the filter, shared by every
//! CPU and readable and writable from userspace while packets flow (ABI 2;
//! lookups keyed by the packet's address, ABI 3: `docs/abi.md` "Maps").
//!
//! Declare every map of a filter in one [`maps!`](macro@crate::maps) block, as
//! statics:
//!
//! ```ignore
//! use core::net::Ipv4Addr;
//! use wasmnf_sdk::{maps, HashMap, LpmMap};
//!
//! maps! {
//!     /// Sources to drop, filled from userspace.
//!     static BLOCKLIST: LpmMap<Ipv4Addr, u32> = "blocklist", 1_000_000;
//!     /// Packets and bytes per source.
//!     static TALKERS: HashMap<Ipv4Addr, [u64; 2]> = "talkers", 65_536;
//! }
//! ```
//!
//! The block writes one declaration record per map into the module's
//! `wasmnf.maps` section (checked at compile time: a bad name or size does
//! not build) and gives each static its id. Keys and values are plain data:
//! integers (little-endian), [`Ipv4Addr`]/[`Ipv6Addr`] (network order),
//! byte arrays and arrays of `u32`/`u64`.
//!
//! Lookups copy the value out (a few bytes on the shadow stack), so nothing
//! on the packet path copies a whole table. To look up the packet's own
//! source or destination address, as nftables' `ip saddr @set` does, use
//! `lookup_packet` (`BLOCKLIST.lookup_packet(pkt, PacketAddr::Src)`), or
//! `contains_packet` when the value does not matter: the host keys the map
//! by the address, and the filter runs none of the Wasm that reads it and
//! builds the key (nor, for `contains_packet`, keeps a buffer for the value).

use crate::{sys, Packet};
use core::marker::PhantomData;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wasmnf_common::maps::{addr, kind, ret, ty, update, Decl};

/// Why a map update failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// [`Flags::Create`] and the key exists.
    Exists,
    /// [`Flags::Replace`] and the key is missing (or, for an `lpm` add,
    /// no prefix matches).
    NotFound,
    /// The map is full, or an array index is past its end.
    Full,
    /// Not allowed for this kind, or a prefix longer than the address.
    Invalid,
}

fn status(r: i32) -> Result<(), MapError> {
    match r {
        ret::OK => Ok(()),
        ret::EEXIST => Err(MapError::Exists),
        ret::ENOENT => Err(MapError::NotFound),
        ret::E2BIG => Err(MapError::Full),
        _ => Err(MapError::Invalid),
    }
}

/// What an update may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flags {
    /// Insert or replace.
    Any,
    /// Insert only.
    Create,
    /// Replace only.
    Replace,
}

impl Flags {
    fn raw(self) -> i32 {
        match self {
            Flags::Any => update::ANY,
            Flags::Create => update::NOEXIST,
            Flags::Replace => update::EXIST,
        }
    }
}

/// The bytes of a key or value as the host stores them.
pub trait Wire: Copy {
    /// All zero.
    const ZERO: Self;
    /// The bytes.
    fn bytes(&self) -> &[u8];
    /// The bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl<const N: usize> Wire for [u8; N] {
    const ZERO: Self = [0; N];
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        self
    }
    #[inline(always)]
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// A type that can be a map key or value: a fixed number of bytes, with
/// the text type `wasmnf` prints and parses it as.
pub trait Plain: Copy {
    /// Its bytes.
    type Wire: Wire;
    /// How the CLI writes it (`wasmnf_common::maps::ty`).
    const TYPE: u8;
    /// Its size in bytes.
    const SIZE: u32 = core::mem::size_of::<Self::Wire>() as u32;
    /// To bytes.
    fn to_wire(&self) -> Self::Wire;
    /// From bytes.
    fn from_wire(w: &Self::Wire) -> Self;
}

macro_rules! plain_int {
    ($($t:ty => $ty:expr),*) => {$(
        impl Plain for $t {
            type Wire = [u8; core::mem::size_of::<$t>()];
            const TYPE: u8 = $ty;
            #[inline(always)]
            fn to_wire(&self) -> Self::Wire { self.to_le_bytes() }
            #[inline(always)]
            fn from_wire(w: &Self::Wire) -> Self { <$t>::from_le_bytes(*w) }
        }
    )*};
}
plain_int!(u8 => ty::U8, u16 => ty::U16, u32 => ty::U32, u64 => ty::U64);

impl Plain for Ipv4Addr {
    type Wire = [u8; 4];
    const TYPE: u8 = ty::IPV4;
    #[inline(always)]
    fn to_wire(&self) -> [u8; 4] {
        self.octets()
    }
    #[inline(always)]
    fn from_wire(w: &[u8; 4]) -> Self {
        Ipv4Addr::from(*w)
    }
}

impl Plain for Ipv6Addr {
    type Wire = [u8; 16];
    const TYPE: u8 = ty::IPV6;
    #[inline(always)]
    fn to_wire(&self) -> [u8; 16] {
        self.octets()
    }
    #[inline(always)]
    fn from_wire(w: &[u8; 16]) -> Self {
        Ipv6Addr::from(*w)
    }
}

impl<const N: usize> Plain for [u8; N] {
    type Wire = [u8; N];
    const TYPE: u8 = ty::HEX;
    #[inline(always)]
    fn to_wire(&self) -> [u8; N] {
        *self
    }
    #[inline(always)]
    fn from_wire(w: &[u8; N]) -> Self {
        *w
    }
}

/// Arrays of `u32`/`u64` (counters): stored as little-endian words.
macro_rules! plain_words {
    ($($t:ty => $ty:expr),*) => {$(
        impl<const N: usize> Plain for [$t; N] {
            type Wire = [[u8; core::mem::size_of::<$t>()]; N];
            const TYPE: u8 = $ty;
            #[inline(always)]
            fn to_wire(&self) -> Self::Wire { self.map(<$t>::to_le_bytes) }
            #[inline(always)]
            fn from_wire(w: &Self::Wire) -> Self { w.map(<$t>::from_le_bytes) }
        }
    )*};
}
plain_words!(u32 => ty::U32, u64 => ty::U64);

impl<const W: usize, const N: usize> Wire for [[u8; W]; N] {
    const ZERO: Self = [[0; W]; N];
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        self.as_flattened()
    }
    #[inline(always)]
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.as_flattened_mut()
    }
}

/// An address an [`LpmMap`] is keyed by: its `lpm` key is a little-endian
/// `u32` prefix length followed by the address in network order.
pub trait LpmKey: Copy {
    /// The key's bytes: 4 + the address size.
    type Wire: Wire;
    /// The address's text type.
    const TYPE: u8;
    /// Address bits.
    const BITS: u8;
    /// The key for the first `len` bits of `self`.
    fn key(&self, len: u8) -> Self::Wire;
}

#[inline(always)]
fn lpm_key<const N: usize, const K: usize>(len: u32, addr: [u8; N]) -> [u8; K] {
    let mut k = [0u8; K];
    k[..4].copy_from_slice(&len.to_le_bytes());
    k[4..].copy_from_slice(&addr);
    k
}

impl LpmKey for Ipv4Addr {
    type Wire = [u8; 8];
    const TYPE: u8 = ty::IPV4;
    const BITS: u8 = 32;
    #[inline(always)]
    fn key(&self, len: u8) -> [u8; 8] {
        lpm_key(u32::from(len), self.octets())
    }
}

impl LpmKey for Ipv6Addr {
    type Wire = [u8; 20];
    const TYPE: u8 = ty::IPV6;
    const BITS: u8 = 128;
    #[inline(always)]
    fn key(&self, len: u8) -> [u8; 20] {
        lpm_key(u32::from(len), self.octets())
    }
}

/// IPv4 and IPv6 in one trie: an IPv4 address is its IPv4-mapped IPv6 form
/// (`::ffff:a.b.c.d`) and an IPv4 prefix `/n` is `/96+n` of it, so the two
/// families never match each other.
impl LpmKey for IpAddr {
    type Wire = [u8; 20];
    const TYPE: u8 = ty::IPV6;
    const BITS: u8 = 128;
    #[inline(always)]
    fn key(&self, len: u8) -> [u8; 20] {
        match self {
            IpAddr::V4(a) => lpm_key(u32::from(len.min(32)) + 96, a.to_ipv6_mapped().octets()),
            IpAddr::V6(a) => lpm_key(u32::from(len), a.octets()),
        }
    }
}

/// The longest prefix length of an address's family.
fn max_len(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

#[inline(always)]
fn lookup_raw<K: Wire, V: Wire>(id: u32, key: &K) -> Option<V> {
    let mut v = V::ZERO;
    (sys::map_lookup(id, key.bytes(), v.bytes_mut()) == ret::OK).then_some(v)
}

/// Defines a map type over a `(key, value)` pair and its declaration.
macro_rules! map_type {
    ($(#[$doc:meta])* $name:ident<$($g:ident: $b:path),*>, $kind:expr, $key_ty:expr, $key_size:expr, $val:ident) => {
        $(#[$doc])*
        pub struct $name<$($g),*> {
            id: u32,
            _types: PhantomData<fn() -> ($($g,)*)>,
        }

        impl<$($g: $b),*> $name<$($g),*> {
            #[doc(hidden)]
            pub const fn __declared(id: u32) -> Self {
                $name { id, _types: PhantomData }
            }

            #[doc(hidden)]
            pub const fn __record(id: u32, name: &str, max_entries: u32) -> [u8; 64] {
                let d = Decl::new(id, name, $kind, $key_ty, $key_size, $val::TYPE, $val::SIZE, max_entries);
                if d.check().is_err() {
                    panic!("bad map declaration: names are 1-31 of [A-Za-z0-9_], capacity 1..=16777216, values up to 1024 bytes");
                }
                d.encode()
            }
        }
    };
}

map_type!(
    /// Exact-match keys (`hash`).
    HashMap<K: Plain, V: Plain>, kind::HASH, K::TYPE, K::SIZE, V
);
map_type!(
    /// Exact-match keys, one value per CPU (`percpu_hash`): each CPU sees and
    /// changes only its own value; userspace reads them all.
    PerCpuHash<K: Plain, V: Plain>, kind::PERCPU_HASH, K::TYPE, K::SIZE, V
);
map_type!(
    /// `u32` indices below the capacity, preallocated, zero-filled (`array`).
    Array<V: Plain>, kind::ARRAY, ty::U32, 4, V
);
map_type!(
    /// An array with one value per CPU (`percpu_array`).
    PerCpuArray<V: Plain>, kind::PERCPU_ARRAY, ty::U32, 4, V
);
map_type!(
    /// Longest-prefix match over addresses (`lpm`): [`LpmMap::lookup`]
    /// returns the value of the longest prefix holding the address.
    LpmMap<K: LpmKey, V: Plain>, kind::LPM, K::TYPE, core::mem::size_of::<K::Wire>() as u32, V
);

/// Hash-like maps: the same calls for [`HashMap`] and [`PerCpuHash`].
macro_rules! hash_api {
    ($name:ident) => {
        impl<K: Plain, V: Plain> $name<K, V> {
            /// The value of `key`.
            #[inline(always)]
            pub fn get(&self, key: &K) -> Option<V> {
                lookup_raw::<K::Wire, V::Wire>(self.id, &key.to_wire()).map(|w| V::from_wire(&w))
            }

            /// Whether `key` is present.
            #[inline(always)]
            pub fn contains(&self, key: &K) -> bool {
                lookup_raw::<K::Wire, V::Wire>(self.id, &key.to_wire()).is_some()
            }

            /// Inserts or replaces `key`.
            #[inline]
            pub fn insert(&self, key: &K, value: &V) -> Result<(), MapError> {
                self.update(key, value, Flags::Any)
            }

            /// Inserts or replaces `key` as `flags` allow.
            #[inline]
            pub fn update(&self, key: &K, value: &V, flags: Flags) -> Result<(), MapError> {
                let (k, v) = (key.to_wire(), value.to_wire());
                status(sys::map_update(self.id, k.bytes(), v.bytes(), flags.raw()))
            }

            /// Removes `key`; whether it was there.
            #[inline]
            pub fn remove(&self, key: &K) -> bool {
                sys::map_delete(self.id, key.to_wire().bytes()) == ret::OK
            }

            /// Adds `delta` to `u64` number `index` of `key`'s value, atomically
            /// (no update from any CPU is lost); a missing key is inserted with
            /// a zero value first. The value must be made of `u64`s.
            #[inline]
            pub fn add(&self, key: &K, index: usize, delta: u64) -> Result<(), MapError> {
                status(sys::map_add(
                    self.id,
                    key.to_wire().bytes(),
                    index * 8,
                    delta,
                ))
            }
        }
    };
}
hash_api!(HashMap);
hash_api!(PerCpuHash);

macro_rules! array_api {
    ($name:ident) => {
        impl<V: Plain> $name<V> {
            /// The value at `index` (`None` past the end).
            #[inline(always)]
            pub fn get(&self, index: u32) -> Option<V> {
                lookup_raw::<[u8; 4], V::Wire>(self.id, &index.to_le_bytes())
                    .map(|w| V::from_wire(&w))
            }

            /// Sets the value at `index`.
            #[inline]
            pub fn set(&self, index: u32, value: &V) -> Result<(), MapError> {
                let v = value.to_wire();
                status(sys::map_update(
                    self.id,
                    &index.to_le_bytes(),
                    v.bytes(),
                    update::ANY,
                ))
            }

            /// Adds `delta` to `u64` number `word` of the value at `index`,
            /// atomically.
            #[inline]
            pub fn add(&self, index: u32, word: usize, delta: u64) -> Result<(), MapError> {
                status(sys::map_add(self.id, &index.to_le_bytes(), word * 8, delta))
            }
        }
    };
}
array_api!(Array);
array_api!(PerCpuArray);

impl<K: LpmKey, V: Plain> LpmMap<K, V> {
    /// The value of the longest prefix holding `addr`.
    #[inline(always)]
    pub fn lookup(&self, addr: &K) -> Option<V> {
        lookup_raw::<K::Wire, V::Wire>(self.id, &addr.key(K::BITS)).map(|w| V::from_wire(&w))
    }

    /// Inserts or replaces the prefix of the first `len` bits of `addr`.
    #[inline]
    pub fn insert(&self, addr: &K, len: u8, value: &V) -> Result<(), MapError> {
        let (k, v) = (addr.key(len), value.to_wire());
        status(sys::map_update(self.id, k.bytes(), v.bytes(), update::ANY))
    }

    /// Removes exactly that prefix; whether it was there.
    #[inline]
    pub fn remove(&self, addr: &K, len: u8) -> bool {
        sys::map_delete(self.id, addr.key(len).bytes()) == ret::OK
    }
}

impl<V: Plain> LpmMap<IpAddr, V> {
    /// Inserts or replaces `cidr`.
    pub fn insert_cidr(&self, cidr: crate::Cidr, value: &V) -> Result<(), MapError> {
        let addr = cidr.addr();
        self.insert(&addr, cidr.prefix().min(max_len(&addr)), value)
    }
}

/// Which address of the packet keys a lookup by packet
/// ([`LpmMap::lookup_packet`], [`HashMap::lookup_packet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketAddr {
    /// The source address.
    Src,
    /// The destination address.
    Dst,
}

/// What a lookup keyed by a packet's address found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrLookup<V> {
    /// The value of the entry: the longest prefix holding the address
    /// (`lpm`), or the address itself (`hash`).
    Found(V),
    /// No entry holds the address.
    Missing,
    /// The packet has no address the map is keyed by: it does not start
    /// with a complete IP header ([`Packet::src_addr`] is `None`), or it is
    /// IPv6 and the map holds IPv4 addresses. (A map whose key no address
    /// fits, an `LpmKey` of your own of another size, gets this for every
    /// packet: the host returns `-22` for it.)
    NoAddress,
}

impl<V> AddrLookup<V> {
    /// Whether an entry holds the address.
    #[inline(always)]
    pub fn is_found(&self) -> bool {
        matches!(self, AddrLookup::Found(_))
    }
}

impl PacketAddr {
    #[inline(always)]
    fn field(self) -> i32 {
        match self {
            PacketAddr::Src => addr::SRC,
            PacketAddr::Dst => addr::DST,
        }
    }
}

/// What `map_lookup_pkt` returned, with `found` the value when it found one.
#[inline(always)]
fn addr_lookup<V>(r: i32, found: impl FnOnce() -> V) -> AddrLookup<V> {
    match r {
        ret::OK => AddrLookup::Found(found()),
        ret::ENOENT => AddrLookup::Missing,
        _ => AddrLookup::NoAddress,
    }
}

/// One `map_lookup_pkt`: the host takes the key from the packet, so the
/// filter neither reads the address nor builds the key.
#[inline(always)]
fn lookup_packet_raw<V: Plain>(id: u32, which: PacketAddr) -> AddrLookup<V> {
    let mut v = V::Wire::ZERO;
    let r = sys::map_lookup_pkt(id, which.field(), v.bytes_mut());
    addr_lookup(r, || V::from_wire(&v))
}

/// The same as a membership test: no value is copied, so the filter keeps
/// no buffer for it (the cheapest form: an nftables set lookup).
#[inline(always)]
fn contains_packet_raw(id: u32, which: PacketAddr) -> AddrLookup<()> {
    addr_lookup(sys::map_contains_pkt(id, which.field()), || ())
}

/// `lookup_packet` and `contains_packet` for a map type whose keys are
/// `$bound`, with their documentation.
macro_rules! packet_api {
    ($name:ident<K: $bound:path>, $lookup:literal, $contains:literal) => {
        impl<K: $bound, V: Plain> $name<K, V> {
            #[doc = $lookup]
            #[inline(always)]
            pub fn lookup_packet(&self, _pkt: &Packet, which: PacketAddr) -> AddrLookup<V> {
                lookup_packet_raw(self.id, which)
            }

            #[doc = $contains]
            #[inline(always)]
            pub fn contains_packet(&self, _pkt: &Packet, which: PacketAddr) -> AddrLookup<()> {
                contains_packet_raw(self.id, which)
            }
        }
    };
}

packet_api!(
    LpmMap<K: LpmKey>,
    "The value of the longest prefix holding the packet's source or
destination address: [`LpmMap::lookup`] of [`Packet::src_addr`] (or
`dst_addr`), done by the host, which is cheaper than reading the address
and building the key in Wasm. In a map of IPv6 (or [`IpAddr`]) keys an
IPv4 address is looked up in its IPv4-mapped form, as
[`LpmKey for IpAddr`](LpmKey) stores it.",
    "Whether a prefix holds the packet's address: [`LpmMap::lookup_packet`]
without the value, which makes it cheaper (`Found(())`, `Missing` or
`NoAddress`)."
);

/// A hash key a packet's address can be: [`Ipv4Addr`] (IPv6 packets have
/// none) or [`Ipv6Addr`] (IPv4 addresses in their IPv4-mapped form).
pub trait AddrKey: Plain {}
impl AddrKey for Ipv4Addr {}
impl AddrKey for Ipv6Addr {}

packet_api!(
    HashMap<K: AddrKey>,
    "The value of the packet's source or destination address ([`AddrKey`]
says which form of it).",
    "Whether the packet's address is a key; nothing is copied."
);
packet_api!(
    PerCpuHash<K: AddrKey>,
    "This CPU's value of the packet's source or destination address
([`AddrKey`] says which form of it).",
    "Whether the packet's address is a key; nothing is copied."
);

/// Declares a filter's maps, each a `static` with its name and capacity:
/// `static NAME: Type = "name", capacity;` (see [the module](mod@crate::maps)).
/// Use one block per filter: ids are numbered within it, and the engine
/// refuses a module whose ids repeat.
#[macro_export]
macro_rules! maps {
    ($($body:tt)*) => {
        $crate::__maps!(@ 0u32; $($body)*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __maps {
    (@ $id:expr;) => {};
    (@ $id:expr; $(#[$m:meta])* $vis:vis static $static:ident : $ty:ty = $name:literal, $cap:expr; $($rest:tt)*) => {
        $(#[$m])*
        $vis static $static: $ty = <$ty>::__declared($id);
        const _: () = {
            #[link_section = "wasmnf.maps"]
            #[used]
            static DECLARATION: [u8; 64] = <$ty>::__record($id, $name, $cap);
        };
        $crate::__maps!(@ $id + 1; $($rest)*);
    };
}
