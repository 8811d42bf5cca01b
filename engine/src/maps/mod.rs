//! Maps: key-value state a filter declares (the `wasmnf.maps` section,
//! [`wasmnf_common::maps`]) and the host keeps natively, shared by every
//! instance of the filter (every CPU) and reachable from the host while
//! packets flow (`docs/abi.md` "Maps").
//!
//! Everything is allocated when the filter loads ([`Maps::new`]); no map
//! operation allocates. Every operation is bounded: a hash probes at most
//! [`hash::PROBES`] slots, a trie walk visits at most one node per address
//! bit. Readers (lookups) take no lock and write nothing shared; writers of
//! one map serialize on its lock, and a reader waits for a writer only
//! while one bounded write of the slot it reads is in progress
//! ([`words`]).

mod cells;
mod hash;
mod lpm;
mod words;

use alloc::sync::Arc;
use alloc::vec::Vec;
use cells::Cells;
use hash::Hash;
use lpm::Lpm;
use wasmnf_common::maps::{self as decl, kind, ret, Decl, DeclError};
use words::Key;

/// Which CPUs' values an operation on a per-CPU map touches (shared maps
/// have one value and ignore it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cpus {
    /// One CPU's: a filter's run on that CPU, or a host reading it.
    One(usize),
    /// Every CPU's (a host update sets them all to one value).
    All,
}

/// Evidence that a grace period has passed since the last delete: every
/// lookup that started before it has finished. Only then may a trie reuse
/// the nodes it unlinked ([`Maps::reclaim`]).
///
/// Construct it only with that knowledge: the kernel after
/// `synchronize_rcu()` (filter runs are RCU readers), a host that runs
/// filters and updates maps on one thread between two runs.
#[derive(Clone, Copy, Debug)]
pub struct GracePeriod(());

impl GracePeriod {
    /// Asserts that a grace period has passed (see the type).
    pub fn elapsed() -> GracePeriod {
        GracePeriod(())
    }
}

/// One map: its declaration and its storage. A replaced filter's storage
/// may live on in its successor ([`Maps::new`]'s `keep`), under the new
/// filter's declaration (same sizes and capacity, maybe another id).
pub struct Map {
    decl: Decl,
    store: Arc<Store>,
}

enum Store {
    Hash(Hash),
    Array(Cells),
    Lpm(Lpm),
}

/// Why a filter's maps were refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A declaration breaks the rules; the map's name if it has one.
    Decl(DeclError, Option<alloc::string::String>),
    /// The maps need more memory than the limit allows.
    OverLimit {
        /// The map that crossed the limit.
        name: alloc::string::String,
        /// Bytes all maps up to and including it need.
        needed: u64,
        /// The limit.
        limit: u64,
    },
    /// An allocation failed.
    NoMemory(alloc::string::String),
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::Decl(e, Some(name)) => write!(f, "map `{name}`: {}", e.describe()),
            MapError::Decl(e, None) => f.write_str(e.describe()),
            MapError::OverLimit {
                name,
                needed,
                limit,
            } => write!(
                f,
                "map `{name}` takes the filter's maps to {needed} bytes, over the limit of {limit} (raise it with --map-memory, or declare fewer entries)"
            ),
            MapError::NoMemory(name) => write!(f, "map `{name}`: out of memory allocating it"),
        }
    }
}

/// A key prepared for its map's kind ([`Map::prepare`]).
pub(crate) enum Prepared {
    Hash(Key),
    Index(usize),
    Prefix(u32, u128),
}

impl core::fmt::Debug for Maps {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.maps.iter().map(|m| m.decl.name()))
            .finish()
    }
}

/// A filter's maps, indexed by id.
#[derive(Default)]
pub struct Maps {
    maps: Vec<Map>,
}

/// The declarations in a module's `wasmnf.maps` section (empty without
/// one), sorted by id.
pub fn declarations(section: Option<&[u8]>) -> Result<Vec<Decl>, MapError> {
    let Some(section) = section else {
        return Ok(Vec::new());
    };
    let mut out = [None; decl::MAPS_MAX as usize];
    let n = decl::decode_section(section, &mut out).map_err(|(e, d)| {
        MapError::Decl(
            e,
            d.map(|d| d.name().into())
                .filter(|n: &alloc::string::String| !n.is_empty()),
        )
    })?;
    Ok(out.into_iter().take(n).flatten().collect())
}

impl Map {
    /// Bytes a map of this declaration takes on `cpus` CPUs.
    pub fn bytes(d: &Decl, cpus: usize) -> u64 {
        let (k, v, n) = (d.key_size as usize, d.value_size as usize, d.max_entries);
        match d.kind {
            kind::HASH => Hash::bytes(k, v, n, None),
            kind::PERCPU_HASH => Hash::bytes(k, v, n, Some(cpus)),
            kind::ARRAY => Cells::bytes(1, n as usize, v),
            kind::PERCPU_ARRAY => Cells::bytes(cpus, n as usize, v),
            _ => Lpm::bytes(d.lpm_data() as usize, v, n),
        }
    }

    fn new(d: Decl, cpus: usize, seed: u64) -> Result<Map, words::NoMemory> {
        let (k, v, n) = (d.key_size as usize, d.value_size as usize, d.max_entries);
        let seed = seed ^ u64::from(d.id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let store = match d.kind {
            kind::HASH => Store::Hash(Hash::new(k, v, n, None, seed)?),
            kind::PERCPU_HASH => Store::Hash(Hash::new(k, v, n, Some(cpus), seed)?),
            kind::ARRAY => Store::Array(Cells::new(1, n as usize, v)?),
            kind::PERCPU_ARRAY => Store::Array(Cells::new(cpus, n as usize, v)?),
            _ => Store::Lpm(Lpm::new(d.lpm_data() as usize, v, n)?),
        };
        // (A small infallible allocation, as the load path's others are.)
        Ok(Map {
            decl: d,
            store: Arc::new(store),
        })
    }

    /// The declaration.
    pub fn decl(&self) -> &Decl {
        &self.decl
    }

    /// How many entries it holds (an array: its capacity).
    pub fn len(&self) -> u32 {
        match &*self.store {
            Store::Hash(h) => h.len(),
            Store::Array(_) => self.decl.max_entries,
            Store::Lpm(t) => t.len(),
        }
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An array index from a 4-byte key (a shorter key, which the callers'
    /// size checks exclude, is an index past every array).
    fn index(key: &[u8]) -> usize {
        key.first_chunk::<4>()
            .map_or(usize::MAX, |b| u32::from_le_bytes(*b) as usize)
    }

    /// An `lpm` key's prefix length and address (address bytes past 16,
    /// which the declaration's checks exclude, are ignored).
    fn prefix(key: &[u8]) -> (u32, u128) {
        let Some((len, data)) = key.split_first_chunk::<4>() else {
            return (0, 0);
        };
        let mut addr = [0u8; 16];
        for (a, d) in addr.iter_mut().zip(data) {
            *a = *d;
        }
        (u32::from_le_bytes(*len), u128::from_be_bytes(addr))
    }

    /// Copies the value of `key` (exactly `key_size` bytes) seen from
    /// `cpu` into `dst` (exactly `value_size` bytes); whether it was found.
    /// An `lpm` key's prefix length says how many address bits to match
    /// (more than the address has means all).
    #[inline]
    pub fn lookup(&self, key: &[u8], cpu: usize, dst: &mut [u8]) -> bool {
        self.lookup_prepared(&self.prepare(key), cpu, dst)
    }

    /// `key` in the form its kind searches with, so the caller may drop
    /// the borrow of the key's bytes (the filter's memory) before it lends
    /// out the value's.
    #[inline(always)]
    pub(crate) fn prepare(&self, key: &[u8]) -> Prepared {
        match &*self.store {
            Store::Hash(_) => Prepared::Hash(Key::pack(key)),
            Store::Array(_) => Prepared::Index(Self::index(key)),
            Store::Lpm(_) => {
                let (len, addr) = Self::prefix(key);
                Prepared::Prefix(len, addr)
            }
        }
    }

    /// The key `addr` (a packet's address) is in this map, in the form its
    /// kind searches with: the address as a full-length prefix for `lpm`
    /// maps (IPv4 as IPv4-mapped IPv6 in maps of 16-byte addresses), the
    /// address bytes for `hash` and `percpu_hash` maps of 4-byte (IPv4) or
    /// 16-byte keys (IPv6, IPv4-mapped for IPv4). `Err(ENODATA)` for no
    /// address or an IPv6 one in an IPv4 map, `Err(EINVAL)` for a map no
    /// address can key (an array, other key sizes).
    #[inline]
    pub(crate) fn addr_key(&self, addr: Option<crate::packet::Addr>) -> Result<Prepared, i32> {
        use crate::packet::Addr;
        // Which maps an address keys, and whether they hold IPv4 only.
        let (lpm, v4_only) = match (&*self.store, self.decl.key_size) {
            (Store::Lpm(_), 8) => (true, true),
            (Store::Lpm(_), 20) => (true, false),
            (Store::Hash(_), 4) => (false, true),
            (Store::Hash(_), 16) => (false, false),
            _ => return Err(ret::EINVAL),
        };
        // The address in the top bits of 128, as the maps keep keys: IPv4
        // alone in an IPv4 map, IPv4-mapped (`::ffff:a.b.c.d`) otherwise.
        let v4 = |a: [u8; 4]| u128::from(u32::from_be_bytes(a));
        let bits = match (v4_only, addr.ok_or(ret::ENODATA)?) {
            (true, Addr::V6(_)) => return Err(ret::ENODATA),
            (true, Addr::V4(a)) => v4(a) << 96,
            (false, Addr::V4(a)) => 0xffff << 32 | v4(a),
            (false, Addr::V6(a)) => u128::from_be_bytes(a),
        };
        Ok(match (lpm, v4_only) {
            (true, true) => Prepared::Prefix(32, bits),
            (true, false) => Prepared::Prefix(128, bits),
            (false, true) => Prepared::Hash(Key::pack(&bits.to_be_bytes()[..4])),
            (false, false) => Prepared::Hash(Key::pack(&bits.to_be_bytes())),
        })
    }

    /// [`Map::lookup`] of a prepared key.
    #[inline]
    pub(crate) fn lookup_prepared(&self, key: &Prepared, cpu: usize, dst: &mut [u8]) -> bool {
        match (&*self.store, key) {
            (Store::Hash(h), Prepared::Hash(k)) => h.lookup(k, cpu, dst),
            (Store::Array(a), Prepared::Index(i)) => {
                let found = *i < self.decl.max_entries as usize;
                if found {
                    a.load(cpu, *i, dst);
                }
                found
            }
            (Store::Lpm(t), Prepared::Prefix(len, addr)) => t.lookup(*len, *addr, dst),
            _ => false,
        }
    }

    /// Inserts or replaces `key` ([`decl::update`] flags); `0` or a
    /// negative errno ([`ret`]).
    pub fn update(&self, key: &[u8], value: &[u8], flags: i32, cpus: Cpus) -> i32 {
        if !matches!(
            flags,
            decl::update::ANY | decl::update::NOEXIST | decl::update::EXIST
        ) {
            return ret::EINVAL;
        }
        match &*self.store {
            Store::Hash(h) => h.update(&Key::pack(key), value, flags, cpus),
            Store::Array(a) => {
                let i = Self::index(key);
                if i >= self.decl.max_entries as usize {
                    return ret::E2BIG;
                }
                if flags == decl::update::NOEXIST {
                    return ret::EEXIST;
                }
                match a.store(cpus, i, value) {
                    Some(()) => ret::OK,
                    None => ret::EFAULT,
                }
            }
            Store::Lpm(t) => {
                let (len, addr) = Self::prefix(key);
                t.update(len, addr, value, flags)
            }
        }
    }

    /// Deletes `key`: `0`, `ENOENT`, or `EINVAL` for an array (whose
    /// entries always exist).
    pub fn delete(&self, key: &[u8]) -> i32 {
        match &*self.store {
            Store::Hash(h) => h.delete(&Key::pack(key)),
            Store::Array(_) => ret::EINVAL,
            Store::Lpm(t) => {
                let (len, addr) = Self::prefix(key);
                t.delete(len, addr)
            }
        }
    }

    /// Adds `delta` to the little-endian `u64` at byte `offset` of `key`'s
    /// value (this CPU's); atomic, so adds from every CPU are all counted.
    /// A hash inserts a zero value first if the key is missing; an `lpm` map
    /// adds to the longest match and an array to the index. `None` if
    /// `offset` is not a multiple of 8 inside the value.
    pub fn add(&self, key: &[u8], offset: usize, delta: u64, cpu: usize) -> Option<i32> {
        if !offset.is_multiple_of(8) || offset + 8 > self.decl.value_size as usize {
            return None;
        }
        let word = offset / 8;
        Some(match &*self.store {
            Store::Hash(h) => h.add(&Key::pack(key), word, delta, cpu),
            Store::Array(a) => {
                let i = Self::index(key);
                if i >= self.decl.max_entries as usize {
                    return Some(ret::E2BIG);
                }
                match a.cell(cpu, i).and_then(|(_, v)| v.get(word)) {
                    Some(w) => {
                        w.fetch_add(delta, core::sync::atomic::Ordering::Relaxed);
                        ret::OK
                    }
                    None => ret::EFAULT,
                }
            }
            Store::Lpm(_) => ret::EINVAL,
        })
    }

    /// Removes every entry (an array: zeroes every value).
    pub fn clear(&self) {
        match &*self.store {
            Store::Hash(h) => h.clear(),
            Store::Array(a) => {
                let zeros = [0u8; decl::VALUE_SIZE_MAX as usize];
                let zeros = zeros.get(..self.decl.value_size as usize).unwrap_or(&[]);
                for i in 0..self.decl.max_entries as usize {
                    if a.store(Cpus::All, i, zeros).is_none() {
                        break;
                    }
                }
            }
            Store::Lpm(t) => t.clear(),
        }
    }

    /// Value rows the host sees: one per CPU for per-CPU maps, else one.
    /// A host reads (and dumps) a value as `rows() x value_size` bytes,
    /// CPU 0's first.
    pub fn rows(&self) -> usize {
        match &*self.store {
            Store::Hash(h) => h.rows(),
            Store::Array(a) => a.cpus,
            Store::Lpm(_) => 1,
        }
    }

    /// Copies every row of `key`'s value (exactly `key_size` bytes) into
    /// `dst` (exactly `rows() x value_size` bytes), for a host; whether it
    /// was found. Each row is read consistently; rows are not one
    /// snapshot (each CPU's row changes on its own).
    pub fn lookup_rows(&self, key: &[u8], dst: &mut [u8]) -> bool {
        let key = self.prepare(key);
        let size = self.decl.value_size as usize;
        let mut found = true;
        for (cpu, row) in dst.chunks_mut(size).enumerate() {
            found &= self.lookup_prepared(&key, cpu, row);
        }
        found
    }

    /// The first entry at `cursor` or after it (`0` starts a scan): copies
    /// its key into `key` (exactly `key_size` bytes) and its value's rows
    /// into `values` (exactly `rows() x value_size` bytes), and returns the
    /// cursor of the next scan step; `None` when no entry is left. A scan
    /// allocates nothing and may stop and resume anywhere. It is not a
    /// snapshot: an entry that stays in the map from the scan's start to
    /// its end is seen once (in the kernel, a scan step runs in an RCU
    /// read-side section so no node it reads is reused), one added or
    /// removed meanwhile may or may not be. Order: slot order for hashes,
    /// index order for arrays, node order for tries.
    pub fn next_entry(&self, cursor: u64, key: &mut [u8], values: &mut [u8]) -> Option<u64> {
        let size = self.decl.value_size as usize;
        match &*self.store {
            Store::Hash(h) => {
                let i = h.next(usize::try_from(cursor).ok()?, key, values)?;
                Some(i as u64 + 1)
            }
            Store::Array(a) => {
                let i = u32::try_from(cursor).ok()?;
                if i >= self.decl.max_entries {
                    return None;
                }
                key.copy_from_slice(&i.to_le_bytes());
                for (cpu, row) in values.chunks_mut(size).enumerate() {
                    a.load(cpu, i as usize, row);
                }
                Some(cursor + 1)
            }
            Store::Lpm(t) => {
                let (n, plen, addr) = t.next(u32::try_from(cursor).ok()?, values)?;
                let (len, data) = key.split_at_mut(4);
                len.copy_from_slice(&plen.to_le_bytes());
                let bytes = data.len();
                data.copy_from_slice(&addr.to_be_bytes()[..bytes]);
                Some(u64::from(n) + 1)
            }
        }
    }

    /// Every entry ([`Map::next_entry`]'s scan): its key bytes and its
    /// values, one per row. For host use (it allocates).
    pub fn entries(&self, mut f: impl FnMut(&[u8], &[Vec<u8>])) {
        let size = self.decl.value_size as usize;
        let mut key = alloc::vec![0u8; self.decl.key_size as usize];
        let mut values = alloc::vec![0u8; size * self.rows()];
        let mut rows = Vec::new();
        let mut cursor = 0;
        while let Some(next) = self.next_entry(cursor, &mut key, &mut values) {
            rows.clear();
            rows.extend(values.chunks(size).map(<[u8]>::to_vec));
            f(&key, &rows);
            cursor = next;
        }
    }
}

impl Maps {
    /// Allocates the maps of `decls` (sorted by id, as [`declarations`]
    /// returns them) for `cpus` CPUs, refusing them if together they need
    /// more than `limit` bytes. `seed` keys the hash maps' hashing.
    pub fn new(decls: &[Decl], cpus: usize, limit: u64, seed: u64) -> Result<Maps, MapError> {
        Maps::new_keeping(decls, cpus, limit, seed, None)
    }

    /// [`Maps::new`], except that a map of `keep` (the maps of the filter
    /// this one replaces, on the same CPUs) that [`Decl::carries_over`] to
    /// a declaration is shared, entries and all, instead of allocated: the
    /// old and the new filter see one map while both may run. The limit
    /// counts kept maps too.
    pub fn new_keeping(
        decls: &[Decl],
        cpus: usize,
        limit: u64,
        seed: u64,
        keep: Option<&Maps>,
    ) -> Result<Maps, MapError> {
        let cpus = cpus.max(1);
        let mut needed = 0u64;
        for d in decls {
            needed = needed.saturating_add(Map::bytes(d, cpus));
            if needed > limit {
                return Err(MapError::OverLimit {
                    name: d.name().into(),
                    needed,
                    limit,
                });
            }
        }
        let mut maps = Vec::new();
        crate::fallible::may_fail(|| maps.try_reserve_exact(decls.len()))
            .map_err(|_| MapError::NoMemory(alloc::string::String::new()))?;
        for d in decls {
            let kept = keep.and_then(|k| k.by_name(d.name())).filter(|old| {
                d.carries_over(old.decl()) && (!d.per_cpu() || old.rows() == cpus.max(1))
            });
            let map = match kept {
                Some(old) => Map {
                    decl: *d,
                    store: old.store.clone(),
                },
                None => {
                    Map::new(*d, cpus, seed).map_err(|_| MapError::NoMemory(d.name().into()))?
                }
            };
            maps.push(map);
        }
        Ok(Maps { maps })
    }

    /// The names of the maps this set shares with `old` (see
    /// [`Maps::new_keeping`]).
    pub fn kept_from<'a>(&'a self, old: &'a Maps) -> impl Iterator<Item = &'a str> + 'a {
        self.maps.iter().filter_map(move |m| {
            old.by_name(m.decl.name())
                .filter(|o| Arc::ptr_eq(&o.store, &m.store))
                .map(|_| m.decl.name())
        })
    }

    /// The map with id `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Map> {
        self.maps.get(id as usize)
    }

    /// The map named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.decl.name() == name)
    }

    /// Every map, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Map> {
        self.maps.iter()
    }

    /// Whether the filter declares no map.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// Bytes the maps take.
    pub fn bytes(&self, cpus: usize) -> u64 {
        self.maps
            .iter()
            .map(|m| Map::bytes(&m.decl, cpus.max(1)))
            .sum()
    }

    /// Lets the tries reuse the nodes deletes unlinked, now that no reader
    /// can hold them. Cheap when there are none.
    pub fn reclaim(&self, _: GracePeriod) {
        for m in &self.maps {
            if let Store::Lpm(t) = &*m.store {
                if t.has_limbo() {
                    t.reclaim();
                }
            }
        }
    }
}
