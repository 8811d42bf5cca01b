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

/// One slot's words, by role: its sequence word, the key words and (for
/// `hash`) the value words. Made only by [`Hash::slot`], which checks the
/// slot number: accesses through it need no index check.
#[derive(Clone, Copy)]
struct Slot<'a> {
    seq: &'a AtomicU64,
    key: &'a [AtomicU64],
    value: &'a [AtomicU64],
}

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

    /// Slot `i`, or `None` if `i` is not a slot: a broken invariant, which
    /// the operations report as `EFAULT` instead of panicking.
    fn slot(&self, i: usize) -> Option<Slot<'_>> {
        let at = i.checked_mul(self.stride)?;
        let words = self.slots.get(at..at.checked_add(self.stride)?)?;
        let (seq, rest) = words.split_first()?;
        let (key, value) = rest.split_at_checked(self.key_words)?;
        Some(Slot { seq, key, value })
    }

    fn probe(&self, key: &Key) -> impl Iterator<Item = usize> + '_ {
        let h = key.hash(self.seed) as usize;
        (0..PROBES.min(self.mask + 1)).map(move |p| h.wrapping_add(p) & self.mask)
    }

    /// The slot holding `key`, seen in a consistent state, running `then`
    /// inside the read section once found.
    #[inline]
    fn find(&self, key: &Key, mut then: impl FnMut(usize, Slot<'_>)) -> Option<usize> {
        for i in self.probe(key) {
            let slot = self.slot(i)?;
            let seen = read_section(slot.seq, |state| match state & STATE {
                USED if key.matches(slot.key) => {
                    then(i, slot);
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
        self.find(key, |i, slot| match &self.cells {
            Some(cells) => cells.load(cpu, i, dst),
            None => load_bytes(slot.value, dst),
        })
        .is_some()
    }

    /// Under the lock: the slot holding `key` (`Ok`), or the first free
    /// slot of its probe sequence (`Err`); `None` as for [`Hash::slot`].
    fn locate(&self, key: &Key) -> Option<Result<usize, Option<usize>>> {
        let mut free = None;
        for i in self.probe(key) {
            let slot = self.slot(i)?;
            match slot.seq.load(Ordering::Relaxed) & STATE {
                EMPTY => return Some(Err(free.or(Some(i)))),
                DELETED => free = free.or(Some(i)),
                _ if key.matches(slot.key) => return Some(Ok(i)),
                _ => {}
            }
        }
        Some(Err(free))
    }

    fn write_value(&self, i: usize, value: &[u8], cpus: Cpus) -> Option<()> {
        match &self.cells {
            Some(cells) => cells.store(cpus, i, value),
            None => {
                let slot = self.slot(i)?;
                let before = begin_write(slot.seq);
                store_bytes(slot.value, value);
                end_write(slot.seq, before, USED);
                Some(())
            }
        }
    }

    /// Puts `key` into free slot `i` with `value` for `cpus` (zero for the
    /// other CPUs of a `percpu_hash`).
    fn insert_at(&self, i: usize, key: &Key, value: &[u8], cpus: Cpus) -> Option<()> {
        let slot = self.slot(i)?;
        let before = begin_write(slot.seq);
        key.store(slot.key);
        let stored = match &self.cells {
            Some(cells) => cells.zero(i).and_then(|()| cells.store(cpus, i, value)),
            None => {
                store_bytes(slot.value, value);
                Some(())
            }
        };
        // Published even if the cells were missing (then the entry is
        // counted and visible, its values zero where they could be set).
        end_write(slot.seq, before, USED);
        self.count.fetch_add(1, Ordering::Relaxed);
        stored
    }

    pub(crate) fn update(&self, key: &Key, value: &[u8], flags: i32, cpus: Cpus) -> i32 {
        let _locked = self.lock.lock();
        let done = match self.locate(key) {
            None => None,
            Some(Ok(_)) if flags == update::NOEXIST => return ret::EEXIST,
            Some(Ok(i)) => self.write_value(i, value, cpus),
            Some(Err(_)) if flags == update::EXIST => return ret::ENOENT,
            Some(Err(Some(i))) if self.count.load(Ordering::Relaxed) < self.max_entries => {
                self.insert_at(i, key, value, cpus)
            }
            Some(Err(_)) => return ret::E2BIG,
        };
        done.map_or(ret::EFAULT, |()| ret::OK)
    }

    pub(crate) fn delete(&self, key: &Key) -> i32 {
        let _locked = self.lock.lock();
        match self.locate(key) {
            Some(Ok(i)) => self.delete_at(i).map_or(ret::EFAULT, |()| ret::OK),
            Some(Err(_)) => ret::ENOENT,
            None => ret::EFAULT,
        }
    }

    /// Under the lock: empties used slot `i`.
    fn delete_at(&self, i: usize) -> Option<()> {
        let slot = self.slot(i)?;
        let next = self.slot((i + 1) & self.mask)?;
        let empty_after = next.seq.load(Ordering::Relaxed) & STATE == EMPTY;
        let before = begin_write(slot.seq);
        end_write(slot.seq, before, if empty_after { EMPTY } else { DELETED });
        self.count.fetch_sub(1, Ordering::Relaxed);
        if empty_after {
            // Deleted slots just before an empty one end no probe sequence
            // that an entry needs: make them empty too.
            let mut j = i;
            for _ in 0..PROBES {
                j = j.wrapping_sub(1) & self.mask;
                let seq = self.slot(j)?.seq;
                if seq.load(Ordering::Relaxed) & STATE != DELETED {
                    break;
                }
                let before = begin_write(seq);
                end_write(seq, before, EMPTY);
            }
        }
        Some(())
    }

    /// Adds `delta` to the `u64` at word `word` of `key`'s value (this
    /// CPU's), inserting a zero value first if the key is missing.
    pub(crate) fn add(&self, key: &Key, word: usize, delta: u64, cpu: usize) -> i32 {
        let add = |i: usize| -> i32 {
            let w = match &self.cells {
                Some(cells) => cells.cell(cpu, i).and_then(|(_, v)| v.get(word)),
                None => self.slot(i).and_then(|s| s.value.get(word)),
            };
            match w {
                Some(w) => {
                    w.fetch_add(delta, Ordering::Relaxed);
                    ret::OK
                }
                None => ret::EFAULT,
            }
        };
        if let Some(i) = self.find(key, |_, _| {}) {
            return add(i);
        }
        let _locked = self.lock.lock();
        match self.locate(key) {
            Some(Ok(i)) => add(i),
            Some(Err(Some(i))) if self.count.load(Ordering::Relaxed) < self.max_entries => {
                let zeros = [0u8; wasmnf_common::maps::VALUE_SIZE_MAX as usize];
                let inserted = zeros
                    .get(..self.value_size)
                    .and_then(|z| self.insert_at(i, key, z, Cpus::One(cpu)));
                match inserted {
                    Some(()) => add(i),
                    None => ret::EFAULT,
                }
            }
            Some(Err(_)) => ret::E2BIG,
            None => ret::EFAULT,
        }
    }

    pub(crate) fn clear(&self) {
        let _locked = self.lock.lock();
        for i in 0..=self.mask {
            let Some(Slot { seq, .. }) = self.slot(i) else {
                break;
            };
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
            let slot = self.slot(i)?;
            let seen = read_section(slot.seq, |state| {
                if state & STATE != USED {
                    return false;
                }
                load_bytes(slot.key, key);
                for (cpu, v) in values.chunks_mut(self.value_size).enumerate() {
                    match &self.cells {
                        Some(cells) => cells.load(cpu, i, v),
                        None => load_bytes(slot.value, v),
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
    /// Zeroes every CPU's value of slot `i` (a new entry); `None` if `i`
    /// is not a slot.
    fn zero(&self, i: usize) -> Option<()> {
        for cpu in 0..self.cpus {
            let (seq, value) = self.cell(cpu, i)?;
            let before = begin_write(seq);
            zero(value);
            end_write(seq, before, 0);
        }
        Some(())
    }
}
