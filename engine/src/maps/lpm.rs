//! `lpm`: longest-prefix match, as a path-compressed binary trie over
//! preallocated nodes.
//!
//! A key is a prefix length and up to 128 bits of address (IPv4, IPv6 or
//! any 1-16 bytes), kept as a `u128` with the address in its top bits. Each
//! node holds a prefix (length and bits) and two links; a node with a value
//! is an entry, one without is a branch point that has both children. A
//! node's children extend its prefix, the bit after it choosing the side.
//! So `n` entries take at most `2n - 1` nodes, allocated at load (`2 x
//! max_entries`), and a walk visits at most one node per prefix length: a
//! lookup, insert or delete is O(address bits), at most 129 nodes
//! (IPv4: 33), plus for an insert or delete the first-level slots below
//! (at most `2^16` walks of at most 129 nodes, for a prefix shorter than
//! the first level's depth).
//!
//! **First level.** A lookup does not start at the root: a table of
//! `2^k` slots ([`Index`], `k` = log2 of `max_entries`, at most 16),
//! indexed by the `k` address bits after a fixed region (the whole address
//! space for keys of up to 8 bytes, `::ffff:0:0/96` for 16-byte keys,
//! where IPv4-mapped entries live), holds where the walk of every address
//! with those bits stands once it has passed the nodes shorter than the
//! region plus `k` bits: the node to go on from and the longest entry
//! seen. The writer recomputes the slots a change covers (the changed
//! prefix's range: one slot for a prefix as long as the region plus `k`,
//! `2^(region + k - len)` for a shorter one) before it unlocks, so a slot
//! never names a node a reader could see reused. An invalid slot (after
//! `clear`, or a broken invariant) means "walk from the root".
//!
//! **Concurrency** (`docs/abi.md` "Maps"): writers take the map's lock;
//! readers take nothing. A writer initializes a node completely before one
//! Release store of a link publishes it, and unlinks a node with one store,
//! so a reader always walks a well-formed trie, the old one or the new one.
//! An entry's value changes in place under its sequence word. An unlinked
//! node is not reused at once: it waits in a limbo list until the host
//! proves a grace period ([`super::GracePeriod`]: every reader that could
//! have seen it has finished), as RCU does; in the kernel, after
//! `synchronize_rcu()`.

use super::words::{
    alloc_words, begin_write, end_write, load_bytes, read_section, store_bytes, words_for,
    NoMemory, WriterLock,
};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use wasmnf_common::maps::{ret, update};

// A node: `[links, meta, key words (1 for addresses of up to 64 bits, else
// 2; the address in the top bits), value words]`. `meta` is the node's
// sequence word; its state holds the prefix length (bits 8..16) and whether
// the node is an entry.
const LINKS: usize = 0;
const META: usize = 1;
const KEY: usize = 2;
// `Lpm::node` splits a node in this order.
const _: () = assert!(LINKS == 0 && META == 1 && KEY == 2);
/// State bit of the sequence word: the node is an entry.
const HAS_VALUE: u64 = 0b10;
/// Where the prefix length sits in the sequence word's state.
const PLEN_SHIFT: u32 = 8;
/// How often a lookup starts again because the entry it found was deleted
/// meanwhile.
const RESTARTS: u32 = 8;
/// Room for [`Lpm::clear`]'s walk: a path of at most 129 nodes.
const CLEAR_STACK: usize = 2 * 129 + 2;

/// Where a link lives: the root, or a node's child on one side.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Child(u32, u32),
}

pub(crate) struct Lpm {
    nodes: Box<[AtomicU64]>,
    stride: usize,
    /// Key words per node (1 or 2).
    key_words: usize,
    /// Address bits: 8 x the key's address bytes.
    bits: u32,
    max_entries: u32,
    root: AtomicU32,
    count: AtomicU32,
    /// Nodes `fresh..=pool` were never used; `free` holds nodes freed
    /// again, `limbo` unlinked nodes waiting for a grace period. Only
    /// writers touch them, under `lock`.
    fresh: AtomicU32,
    pool: u32,
    free: Stack,
    free_top: AtomicU32,
    limbo: Stack,
    limbo_top: AtomicU32,
    lock: WriterLock,
    index: Option<Index>,
}

/// The first level (module doc): `slots[t]` for the addresses whose `bits`
/// bits after the region's `skip` bits are `t`.
struct Index {
    /// Bits of the region (0 or 96); `region` is its address, masked.
    skip: u32,
    region: u128,
    /// Indexed bits (4..=16).
    bits: u32,
    /// `VALID | best << 32 | start`, or 0: walk from the root.
    slots: Box<[AtomicU64]>,
}

/// Entries from which lookups start at the first level (the slots are kept
/// up to date whatever the count, so either start is right at any time).
const INDEX_FROM: u32 = 64;

/// Bit 63 of a first-level slot: it holds a walk state.
const VALID: u64 = 1 << 63;

impl Index {
    /// The index for keys of `data_size` bytes and `max_entries`, if
    /// there is one: at least 16 slots, and room for the node numbers in a
    /// slot.
    fn bits_for(data_size: usize, max_entries: u32) -> Option<(u32, u32)> {
        let bits = (31 - max_entries.max(1).leading_zeros()).min(16);
        let skip = if data_size == 16 { 96 } else { 0 };
        let fits = data_size as u32 * 8 >= skip + bits && max_entries < 1 << 29;
        (bits >= 4 && fits).then_some((skip, bits))
    }

    fn new(data_size: usize, max_entries: u32) -> Result<Option<Index>, NoMemory> {
        let Some((skip, bits)) = Self::bits_for(data_size, max_entries) else {
            return Ok(None);
        };
        Ok(Some(Index {
            skip,
            region: if skip == 96 { 0xffff << 32 } else { 0 },
            bits,
            slots: alloc_words(1 << bits)?,
        }))
    }

    fn bytes(data_size: usize, max_entries: u32) -> u64 {
        Self::bits_for(data_size, max_entries).map_or(0, |(_, bits)| 8 << bits)
    }

    /// Bits a walk has passed when it leaves the first level.
    fn depth(&self) -> u32 {
        self.skip + self.bits
    }

    /// Whether the first `len` bits of `addr` are inside the region.
    fn in_region(&self, len: u32, addr: u128) -> bool {
        let n = len.min(self.skip);
        same_prefix(addr, self.region, n)
    }

    /// The slot number of `addr` (at least [`Index::depth`] bits long and
    /// in the region).
    fn slot_of(&self, addr: u128) -> usize {
        ((addr >> (128 - self.depth())) & ((1 << self.bits) - 1)) as usize
    }

    /// The walk state for a lookup of `len` bits of `addr`, if the first
    /// level has one.
    #[inline(always)]
    fn start(&self, len: u32, addr: u128) -> Option<(u32, u32)> {
        if len < self.depth() || !self.in_region(self.skip, addr) {
            return None;
        }
        let v = self.slots.get(self.slot_of(addr))?.load(Ordering::Acquire);
        (v & VALID != 0).then_some((v as u32, (v >> 32) as u32 & 0x7fff_ffff))
    }
}

/// Whether the top `len` bits of `a` and `b` are equal.
#[inline(always)]
fn same_prefix(a: u128, b: u128, len: u32) -> bool {
    len == 0 || (a ^ b) >> (128 - len) == 0
}

/// The bit of `a` after its first `at` bits (`at < 128`).
#[inline(always)]
fn bit_after(a: u128, at: u32) -> u32 {
    ((a >> (127 - at)) & 1) as u32
}

/// `a` with all but its top `len` bits cleared.
fn masked(a: u128, len: u32) -> u128 {
    match len {
        0 => 0,
        _ => a & (u128::MAX << (128 - len)),
    }
}

/// `u32` node numbers, two per word.
struct Stack(Box<[AtomicU64]>);

impl Stack {
    fn new(n: usize) -> Result<Stack, NoMemory> {
        Ok(Stack(alloc_words(n.div_ceil(2))?))
    }

    fn get(&self, i: u32) -> Option<u32> {
        let w = self.0.get(i as usize / 2)?;
        Some((w.load(Ordering::Relaxed) >> (32 * (i % 2))) as u32)
    }

    fn set(&self, i: u32, n: u32) -> Option<()> {
        let w = self.0.get(i as usize / 2)?;
        let shift = 32 * (i % 2);
        let v = w.load(Ordering::Relaxed) & !(0xffff_ffffu64 << shift) | u64::from(n) << shift;
        w.store(v, Ordering::Relaxed);
        Some(())
    }
}

/// One node's words, by role (the layout above). Made only by
/// [`Lpm::node`], which checks the node number against the pool: every
/// access through it is in bounds, with no index to check (and no panic
/// path) where it is used.
#[derive(Clone, Copy)]
struct Node<'a> {
    links: &'a AtomicU64,
    meta: &'a AtomicU64,
    /// The key words (1 or 2), the address's top word first.
    key: &'a [AtomicU64],
    value: &'a [AtomicU64],
}

impl Lpm {
    fn pool(max_entries: u32) -> usize {
        2 * max_entries as usize
    }

    pub(crate) fn new(
        data_size: usize,
        value_size: usize,
        max_entries: u32,
    ) -> Result<Lpm, NoMemory> {
        let key_words = if data_size <= 8 { 1 } else { 2 };
        let value_at = KEY + key_words;
        let stride = value_at + words_for(value_size);
        let pool = Self::pool(max_entries);
        Ok(Lpm {
            key_words,
            nodes: alloc_words((pool + 1).checked_mul(stride).ok_or(NoMemory)?)?,
            stride,
            bits: data_size as u32 * 8,
            max_entries,
            root: AtomicU32::new(0),
            count: AtomicU32::new(0),
            // Node 0 is "no node".
            fresh: AtomicU32::new(1),
            pool: pool as u32,
            free: Stack::new(pool)?,
            free_top: AtomicU32::new(0),
            limbo: Stack::new(pool)?,
            limbo_top: AtomicU32::new(0),
            lock: WriterLock::default(),
            index: Index::new(data_size, max_entries)?,
        })
    }

    /// Bytes [`Lpm::new`] allocates.
    pub(crate) fn bytes(data_size: usize, value_size: usize, max_entries: u32) -> u64 {
        let pool = Self::pool(max_entries) as u64;
        let key_words = if data_size <= 8 { 1 } else { 2 };
        (pool + 1) * (KEY + key_words + words_for(value_size)) as u64 * 8
            + 2 * pool.div_ceil(2) * 8
            + Index::bytes(data_size, max_entries)
    }

    /// Node `n`, or `None` if `n` is outside the pool: a broken invariant,
    /// which the operations report as `EFAULT` instead of panicking.
    fn node(&self, n: u32) -> Option<Node<'_>> {
        let at = (n as usize).checked_mul(self.stride)?;
        let words = self.nodes.get(at..at.checked_add(self.stride)?)?;
        let ([links, meta], rest) = words.split_first_chunk::<KEY>()?;
        let (key, value) = rest.split_at_checked(self.key_words)?;
        Some(Node {
            links,
            meta,
            key,
            value,
        })
    }

    fn prefix(&self, n: u32) -> Option<(u32, u128)> {
        let node = self.node(n)?;
        let hi = node.key.first()?.load(Ordering::Relaxed);
        let lo = match node.key.get(1) {
            Some(w) => w.load(Ordering::Relaxed),
            None => 0,
        };
        let meta = node.meta.load(Ordering::Relaxed);
        Some((
            (meta >> PLEN_SHIFT) as u32 & 0xff,
            (hi as u128) << 64 | lo as u128,
        ))
    }

    /// The entry with the longest prefix on `addr`'s path of `len` bits
    /// (0: none), for addresses of at most 64 bits: one word per node;
    /// from node `n` with `best` the longest entry seen before it (the
    /// root and 0, or a first-level slot's state).
    #[inline(always)]
    fn walk64(&self, (mut n, mut best): (u32, u32), len: u32, addr: u64) -> u32 {
        // A walk visits nodes of increasing prefix length: at most
        // `bits + 1`.
        for _ in 0..=self.bits {
            let at = n as usize * self.stride;
            let (true, Some(node)) = (n != 0, self.nodes.get(at..at + KEY + 1)) else {
                break;
            };
            let meta = node[META].load(Ordering::Acquire);
            let plen = (meta >> PLEN_SHIFT) as u32 & 0xff;
            let key = node[KEY].load(Ordering::Relaxed);
            if plen > len || (plen != 0 && (key ^ addr) >> (64 - plen) != 0) {
                break;
            }
            if meta & HAS_VALUE != 0 {
                best = n;
            }
            if plen == len {
                break;
            }
            let links = node[LINKS].load(Ordering::Acquire);
            n = (links >> (32 * ((addr >> (63 - plen)) & 1))) as u32;
        }
        best
    }

    /// [`Lpm::walk64`] for longer addresses: two key words per node, the
    /// address's top word compared first.
    #[inline(always)]
    fn walk128(&self, (mut n, mut best): (u32, u32), len: u32, addr: u128) -> u32 {
        let (top, low) = ((addr >> 64) as u64, addr as u64);
        for _ in 0..=self.bits {
            let at = n as usize * self.stride;
            let (true, Some(node)) = (n != 0, self.nodes.get(at..at + KEY + 2)) else {
                break;
            };
            let meta = node[META].load(Ordering::Acquire);
            let plen = (meta >> PLEN_SHIFT) as u32 & 0xff;
            // From here on `plen <= len <= 128`, which bounds every shift.
            if plen > len {
                break;
            }
            let hi = node[KEY].load(Ordering::Relaxed);
            let differs = match plen {
                0 => false,
                1..=64 => (hi ^ top) >> (64 - plen) != 0,
                _ => {
                    hi != top || (node[KEY + 1].load(Ordering::Relaxed) ^ low) >> (128 - plen) != 0
                }
            };
            if differs {
                break;
            }
            if meta & HAS_VALUE != 0 {
                best = n;
            }
            if plen == len {
                break;
            }
            // `plen < len <= 128`: the bit after the prefix exists.
            let links = node[LINKS].load(Ordering::Acquire);
            if plen >= 64 {
                // Every node below this one shares its top word, which
                // matched: the rest of the walk compares the low word only.
                let side = (low >> (127 - plen)) & 1;
                return self.walk_low(((links >> (32 * side)) as u32, best), len, low);
            }
            n = (links >> (32 * ((top >> (63 - plen)) & 1))) as u32;
        }
        best
    }

    /// The rest of a [`Lpm::walk128`] below a matched node of at least 64
    /// bits: its descendants have longer prefixes that extend it, so their
    /// top key word is the address's, and only the low word is compared
    /// (the IPv4-mapped addresses of a mixed map are all such a walk after
    /// the first level).
    #[inline(always)]
    fn walk_low(&self, (mut n, mut best): (u32, u32), len: u32, low: u64) -> u32 {
        // Prefix lengths 64..=128 increase along the walk: at most 65.
        for _ in 0..=64 {
            let at = n as usize * self.stride;
            let (true, Some(node)) = (n != 0, self.nodes.get(at..at + KEY + 2)) else {
                break;
            };
            let meta = node[META].load(Ordering::Acquire);
            let plen = (meta >> PLEN_SHIFT) as u32 & 0xff;
            // A child shorter than 64 bits would be a broken invariant:
            // stop with what the walk has.
            if plen > len || plen < 64 {
                break;
            }
            // Bits of the low word in the prefix: 0..=64.
            let b = plen - 64;
            let key = node[KEY + 1].load(Ordering::Relaxed);
            if b != 0 && (key ^ low) >> (64 - b) != 0 {
                break;
            }
            if meta & HAS_VALUE != 0 {
                best = n;
            }
            if plen == len {
                break;
            }
            // `plen < len <= 128`, so `b < 64`.
            let links = node[LINKS].load(Ordering::Acquire);
            n = (links >> (32 * ((low >> (63 - b)) & 1))) as u32;
        }
        best
    }

    fn child(&self, n: u32, side: u32) -> Option<u32> {
        let links = self.node(n)?.links.load(Ordering::Acquire);
        Some((links >> (32 * side)) as u32)
    }

    /// Copies the value of the longest prefix matching the first `len` bits
    /// of `addr` to `dst`.
    #[inline]
    pub(crate) fn lookup(&self, len: u32, addr: u128, dst: &mut [u8]) -> bool {
        let len = len.min(self.bits);
        for attempt in 0..RESTARTS {
            // Once the entry found was deleted meanwhile, from the root: a
            // slot may still name it until the writer recomputes the slot.
            // A small trie is shallow: the slot costs more than it skips.
            let from = match (attempt, &self.index) {
                (0, Some(ix)) if self.count.load(Ordering::Relaxed) >= INDEX_FROM => {
                    ix.start(len, addr)
                }
                _ => None,
            };
            let from = from.unwrap_or_else(|| (self.root.load(Ordering::Acquire), 0));
            let best = match self.key_words {
                1 => self.walk64(from, len, (addr >> 64) as u64),
                _ => self.walk128(from, len, addr),
            };
            if best == 0 {
                return false;
            }
            let Some(node) = self.node(best) else {
                return false;
            };
            match read_section(node.meta, |state| {
                let has = state & HAS_VALUE != 0;
                if has {
                    load_bytes(node.value, dst);
                }
                has
            }) {
                Some((_, true)) => return true,
                // Deleted since the walk saw it: walk again.
                Some((_, false)) => continue,
                None => return false,
            }
        }
        false
    }

    /// Under the lock: the first-level state of slot `t`, walked from the
    /// root over the nodes shorter than the first level's depth; 0 (walk
    /// from the root) on a broken invariant.
    fn first_level(&self, ix: &Index, t: u64) -> u64 {
        let depth = ix.depth();
        let addr = ix.region | u128::from(t) << (128 - depth);
        let walk = || -> Option<u64> {
            let (mut n, mut best) = (self.root.load(Ordering::Relaxed), 0);
            for _ in 0..=self.bits {
                if n == 0 {
                    break;
                }
                let (plen, key) = self.prefix(n)?;
                if plen >= depth {
                    break;
                }
                if !same_prefix(key, addr, plen) {
                    // Nothing below matches: a lookup ends with `best`.
                    n = 0;
                    break;
                }
                if self.has_value(n)? {
                    best = n;
                }
                n = self.child(n, bit_after(addr, plen))?;
            }
            Some(VALID | u64::from(best) << 32 | u64::from(n))
        };
        walk().unwrap_or(0)
    }

    /// Under the lock, after a change at prefix `len`/`addr` (masked):
    /// recomputes the first-level slots of the addresses it covers.
    fn reindex(&self, len: u32, addr: u128) {
        let Some(ix) = &self.index else {
            return;
        };
        let depth = ix.depth();
        if !ix.in_region(len, addr) {
            return;
        }
        let (first, count) = match len {
            _ if len >= depth => (ix.slot_of(addr) as u64, 1),
            _ if len >= ix.skip => (ix.slot_of(addr) as u64, 1u64 << (depth - len)),
            // Shorter than the region and covering it: every slot.
            _ => (0, 1u64 << ix.bits),
        };
        for t in first..first + count {
            if let Some(slot) = ix.slots.get(t as usize) {
                slot.store(self.first_level(ix, t), Ordering::Release);
            }
        }
    }

    fn set_link(&self, link: Link, to: u32) -> Option<()> {
        match link {
            Link::Root => self.root.store(to, Ordering::Release),
            Link::Child(n, side) => {
                let w = self.node(n)?.links;
                let links = w.load(Ordering::Relaxed);
                let shift = 32 * side;
                let links = (links & !(0xffff_ffffu64 << shift)) | (u64::from(to) << shift);
                w.store(links, Ordering::Release);
            }
        }
        Some(())
    }

    fn get_link(&self, link: Link) -> Option<u32> {
        match link {
            Link::Root => Some(self.root.load(Ordering::Relaxed)),
            Link::Child(n, side) => self.child(n, side),
        }
    }

    fn free_nodes(&self) -> u32 {
        self.free_top.load(Ordering::Relaxed) + (self.pool + 1 - self.fresh.load(Ordering::Relaxed))
    }

    /// A free node, initialized (unreachable until linked). The caller
    /// checked [`Lpm::free_nodes`].
    fn alloc(&self, plen: u32, key: u128, value: Option<&[u8]>) -> Option<u32> {
        let top = self.free_top.load(Ordering::Relaxed);
        let n = if top > 0 {
            let n = self.free.get(top - 1)?;
            self.free_top.store(top - 1, Ordering::Relaxed);
            n
        } else {
            self.fresh.fetch_add(1, Ordering::Relaxed)
        };
        let node = self.node(n)?;
        node.links.store(0, Ordering::Relaxed);
        let mut words = [(key >> 64) as u64, key as u64].into_iter();
        for w in node.key {
            w.store(words.next().unwrap_or(0), Ordering::Relaxed);
        }
        let before = begin_write(node.meta);
        if let Some(v) = value {
            store_bytes(node.value, v);
        }
        let has = if value.is_some() { HAS_VALUE } else { 0 };
        end_write(node.meta, before, u64::from(plen) << PLEN_SHIFT | has);
        Some(n)
    }

    fn retire(&self, n: u32) -> Option<()> {
        let top = self.limbo_top.load(Ordering::Relaxed);
        self.limbo.set(top, n)?;
        self.limbo_top.store(top + 1, Ordering::Relaxed);
        Some(())
    }

    fn set_value(&self, n: u32, value: Option<&[u8]>) -> Option<()> {
        let node = self.node(n)?;
        let before = begin_write(node.meta);
        if let Some(v) = value {
            store_bytes(node.value, v);
        }
        let plen = before & (0xff << PLEN_SHIFT);
        end_write(
            node.meta,
            before,
            plen | if value.is_some() { HAS_VALUE } else { 0 },
        );
        Some(())
    }

    fn has_value(&self, n: u32) -> Option<bool> {
        Some(self.node(n)?.meta.load(Ordering::Relaxed) & HAS_VALUE != 0)
    }

    /// Inserts or replaces prefix `len`/`addr` (bits past `len` ignored).
    pub(crate) fn update(&self, len: u32, addr: u128, value: &[u8], flags: i32) -> i32 {
        if len > self.bits {
            return ret::EINVAL;
        }
        let _locked = self.lock.lock();
        let addr = masked(addr, len);
        let r = self
            .update_locked(len, addr, value, flags)
            .unwrap_or(ret::EFAULT);
        if r == ret::OK {
            self.reindex(len, addr);
        }
        r
    }

    /// [`Lpm::update`] under the lock; `None`: a node number outside the
    /// pool (a broken invariant).
    fn update_locked(&self, len: u32, addr: u128, value: &[u8], flags: i32) -> Option<i32> {
        let full = self.count.load(Ordering::Relaxed) >= self.max_entries;
        let mut link = Link::Root;
        for _ in 0..=self.bits + 1 {
            let n = self.get_link(link)?;
            if n == 0 {
                if flags == update::EXIST {
                    return Some(ret::ENOENT);
                }
                if full || self.free_nodes() < 1 {
                    return Some(ret::E2BIG);
                }
                let new = self.alloc(len, addr, Some(value))?;
                self.set_link(link, new)?;
                self.count.fetch_add(1, Ordering::Relaxed);
                return Some(ret::OK);
            }
            let (plen, key) = self.prefix(n)?;
            let common = ((key ^ addr).leading_zeros()).min(plen).min(len);
            if common == plen && plen == len {
                let has = self.has_value(n)?;
                match (has, flags) {
                    (true, update::NOEXIST) => return Some(ret::EEXIST),
                    (false, update::EXIST) => return Some(ret::ENOENT),
                    (false, _) if full => return Some(ret::E2BIG),
                    _ => {}
                }
                self.set_value(n, Some(value))?;
                if !has {
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
                return Some(ret::OK);
            }
            if common == plen {
                link = Link::Child(n, bit_after(addr, plen));
                continue;
            }
            if flags == update::EXIST {
                return Some(ret::ENOENT);
            }
            let needed = if common == len { 1 } else { 2 };
            if full || self.free_nodes() < needed {
                return Some(ret::E2BIG);
            }
            let new = self.alloc(len, addr, Some(value))?;
            if common == len {
                // The new prefix is above `n`.
                self.set_link(Link::Child(new, bit_after(key, len)), n)?;
                self.set_link(link, new)?;
            } else {
                // They part after `common` bits: a branch point there.
                let fork = self.alloc(common, masked(addr, common), None)?;
                self.set_link(Link::Child(fork, bit_after(addr, common)), new)?;
                self.set_link(Link::Child(fork, bit_after(key, common)), n)?;
                self.set_link(link, fork)?;
            }
            self.count.fetch_add(1, Ordering::Relaxed);
            return Some(ret::OK);
        }
        Some(ret::EINVAL)
    }

    /// Deletes exactly prefix `len`/`addr`.
    pub(crate) fn delete(&self, len: u32, addr: u128) -> i32 {
        if len > self.bits {
            return ret::EINVAL;
        }
        let _locked = self.lock.lock();
        let addr = masked(addr, len);
        match self.delete_locked(len, addr) {
            // The range of the shortest node the delete unlinked or
            // emptied: it covers every slot that could name one.
            Some((ret::OK, (l, a))) => {
                self.reindex(l, a);
                ret::OK
            }
            Some((r, _)) => r,
            None => ret::EFAULT,
        }
    }

    /// [`Lpm::delete`] under the lock, with the prefix whose first-level
    /// range covers every node it changed; `None` as for
    /// [`Lpm::update_locked`].
    fn delete_locked(&self, len: u32, addr: u128) -> Option<(i32, (u32, u128))> {
        let here = (len, addr);
        let (mut up, mut link) = (None, Link::Root);
        let mut n = self.root.load(Ordering::Relaxed);
        let mut found = false;
        // A path has at most `bits + 1` nodes.
        for _ in 0..=self.bits {
            if n == 0 {
                return Some((ret::ENOENT, here));
            }
            let (plen, key) = self.prefix(n)?;
            if plen > len || !same_prefix(key, addr, plen) {
                return Some((ret::ENOENT, here));
            }
            if plen == len {
                found = true;
                break;
            }
            up = Some(link);
            link = Link::Child(n, bit_after(addr, plen));
            n = self.get_link(link)?;
        }
        // A longer path than the address has bits: a broken invariant.
        if !found {
            return None;
        }
        if !self.has_value(n)? {
            return Some((ret::ENOENT, here));
        }
        self.set_value(n, None)?;
        self.count.fetch_sub(1, Ordering::Relaxed);
        let (c0, c1) = (self.child(n, 0)?, self.child(n, 1)?);
        if c0 != 0 && c1 != 0 {
            // Still a branch point.
            return Some((ret::OK, here));
        }
        self.set_link(link, c0 | c1)?;
        self.retire(n)?;
        // A branch point left with one child goes too.
        if let (Link::Child(parent, side), Some(above)) = (link, up) {
            if c0 | c1 == 0 && !self.has_value(parent)? {
                let other = self.child(parent, 1 - side)?;
                self.set_link(above, other)?;
                self.retire(parent)?;
                return Some((ret::OK, self.prefix(parent)?));
            }
        }
        Some((ret::OK, here))
    }

    /// Makes unlinked nodes reusable.
    pub(crate) fn reclaim(&self) {
        let _locked = self.lock.lock();
        let waiting = self.limbo_top.swap(0, Ordering::Relaxed);
        let mut top = self.free_top.load(Ordering::Relaxed);
        for i in 0..waiting {
            // Both stacks have room for the whole pool, so neither misses.
            if let Some(()) = self.limbo.get(i).and_then(|n| self.free.set(top, n)) {
                top += 1;
            }
        }
        self.free_top.store(top, Ordering::Relaxed);
    }

    /// Whether unlinked nodes wait for a grace period.
    pub(crate) fn has_limbo(&self) -> bool {
        self.limbo_top.load(Ordering::Relaxed) != 0
    }

    pub(crate) fn clear(&self) {
        let _locked = self.lock.lock();
        let root = self.root.load(Ordering::Relaxed);
        self.root.store(0, Ordering::Release);
        // Depth-first with a fixed stack: it holds at most one pending
        // sibling per level of the current path plus the two children just
        // pushed, and a path has at most `bits + 1` nodes.
        let mut todo = [0u32; CLEAR_STACK];
        let mut top = 0;
        let push = |todo: &mut [u32; CLEAR_STACK], top: &mut usize, n: Option<u32>| {
            if let Some(n @ 1..) = n {
                if let Some(slot) = todo.get_mut(*top) {
                    *slot = n;
                    *top += 1;
                }
            }
        };
        push(&mut todo, &mut top, Some(root));
        while let Some(&n) = top.checked_sub(1).and_then(|t| todo.get(t)) {
            top -= 1;
            push(&mut todo, &mut top, self.child(n, 0));
            push(&mut todo, &mut top, self.child(n, 1));
            // A node has a value exactly while it is a linked entry
            // ([`Lpm::next`] relies on it).
            if self.has_value(n) == Some(true) {
                self.set_value(n, None);
            }
            self.retire(n);
        }
        if let Some(ix) = &self.index {
            for slot in ix.slots.iter() {
                slot.store(0, Ordering::Release);
            }
        }
        self.count.store(0, Ordering::Relaxed);
    }

    pub(crate) fn len(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// The first entry in node `from` or later (pool order, not address
    /// order): its node, with its prefix length and address, and its value
    /// copied into `value`, seen consistently. A node has a value exactly
    /// while it is a linked entry (deletes and [`Lpm::clear`] take the
    /// value before unlinking), and a node is reused only after a grace
    /// period, so a caller inside one sees each entry that stays in the map
    /// throughout its scan once.
    pub(crate) fn next(&self, from: u32, value: &mut [u8]) -> Option<(u32, u32, u128)> {
        let end = self.fresh.load(Ordering::Acquire);
        for n in from.max(1)..end {
            let Some(node) = self.node(n) else {
                break;
            };
            let seen = read_section(node.meta, |state| {
                if state & HAS_VALUE == 0 {
                    return None;
                }
                load_bytes(node.value, value);
                self.prefix(n)
            });
            if let Some((_, Some((plen, addr)))) = seen {
                return Some((n, plen, addr));
            }
        }
        None
    }
}
