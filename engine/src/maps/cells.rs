//! Values kept in fixed cells, each with its own sequence word: the whole of
//! an `array`, the values of a `percpu_array` and a `percpu_hash` (one row
//! of cells per CPU, so CPUs never share a cache line of values).

use super::words::{
    alloc_words, begin_write, end_write, load_bytes, read_section, store_bytes, words_for, NoMemory,
};
use super::Cpus;
use alloc::boxed::Box;
use core::sync::atomic::AtomicU64;

pub(crate) struct Cells {
    words: Box<[AtomicU64]>,
    /// Rows: 1 for a shared array, one per CPU otherwise.
    pub(crate) cpus: usize,
    slots: usize,
    stride: usize,
}

impl Cells {
    pub(crate) fn new(cpus: usize, slots: usize, value_size: usize) -> Result<Cells, NoMemory> {
        let stride = 1 + words_for(value_size);
        let n = cpus
            .checked_mul(slots)
            .and_then(|n| n.checked_mul(stride))
            .ok_or(NoMemory)?;
        Ok(Cells {
            words: alloc_words(n)?,
            cpus,
            slots,
            stride,
        })
    }

    /// Bytes [`Cells::new`] allocates.
    pub(crate) fn bytes(cpus: usize, slots: usize, value_size: usize) -> u64 {
        cpus as u64 * slots as u64 * (1 + words_for(value_size)) as u64 * 8
    }

    /// CPU `cpu`'s cell for slot `i`: its sequence word and its value
    /// words; `None` if `i` is not a slot (a broken invariant, reported by
    /// the callers instead of a panic).
    pub(crate) fn cell(&self, cpu: usize, i: usize) -> Option<(&AtomicU64, &[AtomicU64])> {
        if i >= self.slots {
            return None;
        }
        let row = cpu.min(self.cpus.saturating_sub(1));
        let at = (row * self.slots + i) * self.stride;
        self.words.get(at..at + self.stride)?.split_first()
    }

    /// Copies CPU `cpu`'s value of slot `i` to `dst` (zeros if a writer
    /// kept it changing through every retry, or there is no such slot).
    #[inline]
    pub(crate) fn load(&self, cpu: usize, i: usize, dst: &mut [u8]) {
        let read = self
            .cell(cpu, i)
            .and_then(|(seq, value)| read_section(seq, |_| load_bytes(value, dst)));
        if read.is_none() {
            dst.fill(0);
        }
    }

    /// Stores `value` as slot `i`'s value for `cpus`; `None` if `i` is not
    /// a slot.
    pub(crate) fn store(&self, cpus: Cpus, i: usize, value: &[u8]) -> Option<()> {
        let last = self.cpus.saturating_sub(1);
        let (from, to) = match cpus {
            Cpus::One(c) => (c.min(last), c.min(last) + 1),
            Cpus::All => (0, self.cpus),
        };
        for cpu in from..to {
            let (seq, cell) = self.cell(cpu, i)?;
            let before = begin_write(seq);
            store_bytes(cell, value);
            end_write(seq, before, 0);
        }
        Some(())
    }
}
