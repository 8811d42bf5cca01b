//! `hash` and `percpu_hash`: exact-match keys in a preallocated table with
//! bounded linear probing.
//!
//! The table has a power of two of at least twice `max_entries` slots, so
//! it is at most half full. A key lives within [`PROBES`] slots of its
//! hash; an insert that finds no free slot there reports the map full
//! (`E2BIG`) even below `max_entries`, which at half load needs a run of
//! [`PROBES`] occupied slots. So every operation touches at most
//! [`PROBES`] slots: lookups, updates and deletes are O([`PROBES`] x key
//! words), and a delete that frees a slot before an empty one also clears
//! the run of deleted slots (tombstones) before it, at most [`PROBES`].
//!
//! Slot: `[sequence word, key words, value words]` (`percpu_hash`: the
//! values live per CPU in [`Cells`], each with its own sequence word). The
//! slot's state (empty, used, deleted) sits in its sequence word, so a
//! reader checks state, key and value in one read section
//! ([`super::words`]).

use super::words::{
    alloc_words, begin_write, end_write, load_bytes, read_section, store_bytes, words_for, zero,
    Key, NoMemory, WriterLock,
};
use super::{Cells, Cpus};
use alloc::boxed::Box;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use wasmnf_common::maps::{ret, update};

/// Most slots one key's operations look at.
pub(crate) const PROBES: usize = 64;

const STATE: u64 = 0b110;
const EMPTY: u64 = 0;
const USED: u64 = 0b010;
const DELETED: u64 = 0b100;

pub(crate) struct Hash {
    slots: Box<[AtomicU64]>,
    stride: usize,
    key_words: usize,
    value_size: usize,
    mask: usize,
    seed: u64,
    /// Per-CPU values (`percpu_hash`), else the values are in the slots.
    cells: Option<Cells>,
    max_entries: u32,
    count: AtomicU32,
    lock: WriterLock,
}

enum Probe {
    Found,
    Empty,
    Other,
}

impl Hash {
    pub(crate) fn new(
        key_size: usize,
        value_size: usize,
        max_entries: u32,
        cpus: Option<usize>,
        seed: u64,
    ) -> Result<Hash, NoMemory> {
        let n = (max_entries as usize * 2).next_power_of_two().max(8);
        let key_words = words_for(key_size);
        let value_words = if cpus.is_some() {
            0
        } else {
            words_for(value_size)
        };
        let stride = 1 + key_words + value_words;
        Ok(Hash {
            slots: alloc_words(n.checked_mul(stride).ok_or(NoMemory)?)?,
            stride,
            key_words,
            value_size,
            mask: n - 1,
            seed,
            cells: cpus.map(|c| Cells::new(c, n, value_size)).transpose()?,
            max_entries,
            count: AtomicU32::new(0),
            lock: WriterLock::default(),
        })
    }

    /// Bytes allocated for `max_entries` of these sizes (what
    /// [`Hash::new`] takes).
    pub(crate) fn bytes(
        key_size: usize,
        value_size: usize,
        max_entries: u32,
        cpus: Option<usize>,
    ) -> u64 {
        let n = (max_entries as u64 * 2).next_power_of_two().max(8);
        let value_words = if cpus.is_some() {
            0
        } else {
            words_for(value_size)
        };
        let slots = n * (1 + words_for(key_size) + value_words) as u64 * 8;
        slots + cpus.map_or(0, |c| Cells::bytes(c, n as usize, value_size))
    }

    fn slot(&self, i: usize) -> &[AtomicU64] {
        &self.slots[i * self.stride..(i + 1) * self.stride]
    }

    fn seq(&self, i: usize) -> &AtomicU64 {
        &self.slot(i)[0]
    }

    fn key_of(&self, i: usize) -> &[AtomicU64] {
        &self.slot(i)[1..1 + self.key_words]
    }

    fn value_of(&self, i: usize) -> &[AtomicU64] {
        &self.slot(i)[1 + self.key_words..]
    }

    fn probe(&self, key: &Key) -> impl Iterator<Item = usize> + '_ {
        let h = key.hash(self.seed) as usize;
        (0..PROBES.min(self.mask + 1)).map(move |p| h.wrapping_add(p) & self.mask)
    }

    /// The slot holding `key`, seen in a consistent state, running `then`
    /// inside the read section once found.
    #[inline]
    fn find(&self, key: &Key, mut then: impl FnMut(usize)) -> Option<usize> {
        for i in self.probe(key) {
            let slot = self.slot(i);
            let (seq, stored) = slot.split_first()?;
            let seen = read_section(seq, |state| match state & STATE {
                USED if key.matches(stored) => {
                    then(i);
                    Probe::Found
                }
                EMPTY => Probe::Empty,
                _ => Probe::Other,
            });
            match seen {
                Some((_, Probe::Found)) => return Some(i),
                Some((_, Probe::Empty)) | None => return None,
                Some((_, Probe::Other)) => {}
            }
        }
        None
    }

    /// Copies `key`'s value (this CPU's, for `percpu_hash`) to `dst`.
    #[inline]
    pub(crate) fn lookup(&self, key: &Key, cpu: usize, dst: &mut [u8]) -> bool {
        let value_at = 1 + self.key_words;
        self.find(key, |i| match &self.cells {
            Some(cells) => cells.load(cpu, i, dst),
            None => load_bytes(self.slot(i).get(value_at..).unwrap_or_default(), dst),
        })
        .is_some()
    }

    /// Under the lock: the slot holding `key`, or the first free slot of
    /// its probe sequence.
    fn locate(&self, key: &Key) -> Result<usize, Option<usize>> {
        let mut free = None;
        for i in self.probe(key) {
            match self.seq(i).load(Ordering::Relaxed) & STATE {
                EMPTY => return Err(free.or(Some(i))),
                DELETED => free = free.or(Some(i)),
                _ if key.matches(self.key_of(i)) => return Ok(i),
                _ => {}
            }
        }
        Err(free)
    }

    fn write_value(&self, i: usize, value: &[u8], cpus: Cpus) {
        match &self.cells {
            Some(cells) => cells.store(cpus, i, value),
            None => {
                let before = begin_write(self.seq(i));
                store_bytes(self.value_of(i), value);
                end_write(self.seq(i), before, USED);
            }
        }
    }

    /// Puts `key` into free slot `i` with `value` for `cpus` (zero for the
    /// other CPUs of a `percpu_hash`).
    fn insert_at(&self, i: usize, key: &Key, value: &[u8], cpus: Cpus) {
        let before = begin_write(self.seq(i));
        key.store(self.key_of(i));
        match &self.cells {
            Some(cells) => {
                cells.zero(i);
                cells.store(cpus, i, value);
            }
            None => store_bytes(self.value_of(i), value),
        }
        end_write(self.seq(i), before, USED);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn update(&self, key: &Key, value: &[u8], flags: i32, cpus: Cpus) -> i32 {
        let _locked = self.lock.lock();
        match self.locate(key) {
            Ok(_) if flags == update::NOEXIST => ret::EEXIST,
            Ok(i) => {
                self.write_value(i, value, cpus);
                ret::OK
            }
            Err(_) if flags == update::EXIST => ret::ENOENT,
            Err(Some(i)) if self.count.load(Ordering::Relaxed) < self.max_entries => {
                self.insert_at(i, key, value, cpus);
                ret::OK
            }
            Err(_) => ret::E2BIG,
        }
    }

    pub(crate) fn delete(&self, key: &Key) -> i32 {
        let _locked = self.lock.lock();
        let Ok(i) = self.locate(key) else {
            return ret::ENOENT;
        };
        let next = (i + 1) & self.mask;
        let empty_after = self.seq(next).load(Ordering::Relaxed) & STATE == EMPTY;
        let before = begin_write(self.seq(i));
        end_write(
            self.seq(i),
            before,
            if empty_after { EMPTY } else { DELETED },
        );
        self.count.fetch_sub(1, Ordering::Relaxed);
        if empty_after {
            // Deleted slots just before an empty one end no probe sequence
            // that an entry needs: make them empty too.
            let mut j = i;
            for _ in 0..PROBES {
                j = j.wrapping_sub(1) & self.mask;
                let seq = self.seq(j);
                if seq.load(Ordering::Relaxed) & STATE != DELETED {
                    break;
                }
                let before = begin_write(seq);
                end_write(seq, before, EMPTY);
            }
        }
        ret::OK
    }

    /// Adds `delta` to the `u64` at word `word` of `key`'s value (this
    /// CPU's), inserting a zero value first if the key is missing.
    pub(crate) fn add(&self, key: &Key, word: usize, delta: u64, cpu: usize) -> i32 {
        let add = |i: usize| {
            let w = match &self.cells {
                Some(cells) => &cells.value(cpu, i)[word],
                None => &self.value_of(i)[word],
            };
            w.fetch_add(delta, Ordering::Relaxed);
        };
        if let Some(i) = self.find(key, |_| {}) {
            add(i);
            return ret::OK;
        }
        let _locked = self.lock.lock();
        match self.locate(key) {
            Ok(i) => add(i),
            Err(Some(i)) if self.count.load(Ordering::Relaxed) < self.max_entries => {
                let zeros = [0u8; wasmnf_common::maps::VALUE_SIZE_MAX as usize];
                self.insert_at(i, key, &zeros[..self.value_size], Cpus::One(cpu));
                add(i);
            }
            Err(_) => return ret::E2BIG,
        }
        ret::OK
    }

    pub(crate) fn clear(&self) {
        let _locked = self.lock.lock();
        for i in 0..=self.mask {
            let seq = self.seq(i);
            if seq.load(Ordering::Relaxed) & STATE != EMPTY {
                let before = begin_write(seq);
                end_write(seq, before, EMPTY);
            }
        }
        self.count.store(0, Ordering::Relaxed);
    }

    pub(crate) fn len(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// Value rows: one per CPU for `percpu_hash`, else one.
    pub(crate) fn rows(&self) -> usize {
        self.cells.as_ref().map_or(1, |c| c.cpus)
    }

    /// The first entry in slot `from` or later: its slot, with its key
    /// (`key.len()` bytes) and its values (one row of `value_size` bytes
    /// per [`Hash::rows`], back to back, in `values`) copied out, seen
    /// consistently. `None` when no slot from `from` on is used.
    pub(crate) fn next(&self, from: usize, key: &mut [u8], values: &mut [u8]) -> Option<usize> {
        for i in from..=self.mask {
            let seen = read_section(self.seq(i), |state| {
                if state & STATE != USED {
                    return false;
                }
                load_bytes(self.key_of(i), key);
                for (cpu, v) in values.chunks_mut(self.value_size).enumerate() {
                    match &self.cells {
                        Some(cells) => cells.load(cpu, i, v),
                        None => load_bytes(self.value_of(i), v),
                    }
                }
                true
            });
            if let Some((_, true)) = seen {
                return Some(i);
            }
        }
        None
    }
}

impl Cells {
    /// Zeroes every CPU's value of slot `i` (a new entry).
    fn zero(&self, i: usize) {
        for cpu in 0..self.cpus {
            let seq = self.seq(cpu, i);
            let before = begin_write(seq);
            zero(self.value(cpu, i));
            end_write(seq, before, 0);
        }
    }
}
