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

    fn cell(&self, cpu: usize, i: usize) -> &[AtomicU64] {
        let at = (cpu.min(self.cpus - 1) * self.slots + i) * self.stride;
        &self.words[at..at + self.stride]
    }

    pub(crate) fn seq(&self, cpu: usize, i: usize) -> &AtomicU64 {
        &self.cell(cpu, i)[0]
    }

    pub(crate) fn value(&self, cpu: usize, i: usize) -> &[AtomicU64] {
        &self.cell(cpu, i)[1..]
    }

    /// Copies CPU `cpu`'s value of slot `i` to `dst` (zeros if a writer
    /// kept it changing through every retry).
    #[inline]
    pub(crate) fn load(&self, cpu: usize, i: usize, dst: &mut [u8]) {
        if read_section(self.seq(cpu, i), |_| load_bytes(self.value(cpu, i), dst)).is_none() {
            dst.fill(0);
        }
    }

    /// Stores `value` as slot `i`'s value for `cpus`.
    pub(crate) fn store(&self, cpus: Cpus, i: usize, value: &[u8]) {
        let (from, to) = match cpus {
            Cpus::One(c) => (c.min(self.cpus - 1), c.min(self.cpus - 1) + 1),
            Cpus::All => (0, self.cpus),
        };
        for cpu in from..to {
            let seq = self.seq(cpu, i);
            let before = begin_write(seq);
            store_bytes(self.value(cpu, i), value);
            end_write(seq, before, 0);
        }
    }
}
