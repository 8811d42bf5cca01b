//! The storage every map is built from: preallocated arrays of `AtomicU64`
//! words, bytes packed little-endian into them, per-slot sequence words,
//! and the writer lock.
//!
//! Every byte a reader on another CPU can see is inside an atomic word, so
//! concurrent readers and writers never race in the Rust sense (no
//! `unsafe`, no data race); the protocols below make what a reader sees
//! consistent.
//!
//! **Sequence words** (a seqcount per slot). Bit 0 set means a write is in
//! progress; a writer sets it, writes, then stores the word with bit 0
//! clear and the counter (bits [`SEQ_SHIFT`]..) advanced. A reader loads
//! the word (Acquire), waits while bit 0 is set, copies what it needs
//! (Relaxed), fences (Acquire) and loads the word again: if it changed, the
//! copy may be torn and is redone. A reader waits only while one bounded
//! write of that one slot is in progress.
//!
//! **Writers** of a slot are serialized by setting bit 0 with a
//! compare-and-swap ([`begin_write`]), so bit 0 is also the slot's lock.
//! Structural changes (a hash insert's probe, the trie's links) take the
//! map's [`WriterLock`] as well. A writer never waits for a reader.

use core::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

use alloc::alloc::Layout;
use alloc::boxed::Box;

/// Bit 0 of a sequence word: a write is in progress.
pub(crate) const WRITING: u64 = 1;
/// The counter of a sequence word starts at this bit; bits between are the
/// slot's state where a kind keeps one there.
pub(crate) const SEQ_SHIFT: u32 = 16;
/// How many times a reader retries a slot a writer keeps changing before it
/// gives up (and reports the entry missing). Each retry means a complete
/// write of that slot happened meanwhile; no honest updater comes close.
pub(crate) const RETRIES: u32 = 1 << 16;

/// Why a map could not be allocated.
#[derive(Debug)]
pub(crate) struct NoMemory;

/// `n` zeroed words, or [`NoMemory`]. Zeroed by the allocator, so a large
/// map costs no page it never touches (userspace: untouched pages of a
/// fresh mapping; the kernel: `__GFP_ZERO`).
#[allow(unsafe_code)]
pub(crate) fn alloc_words(n: usize) -> Result<Box<[AtomicU64]>, NoMemory> {
    if n == 0 {
        return Ok(Box::default());
    }
    let layout = Layout::array::<AtomicU64>(n).map_err(|_| NoMemory)?;
    // SAFETY: `layout` has a non-zero size (n > 0).
    let ptr = crate::fallible::may_fail(|| unsafe { alloc::alloc::alloc_zeroed(layout) })
        .cast::<AtomicU64>();
    if ptr.is_null() {
        return Err(NoMemory);
    }
    // SAFETY: `ptr` is a fresh allocation of `layout` (n `AtomicU64`s, the
    // global allocator's, as `Box` frees it), and all-zero bytes are a valid
    // `AtomicU64` (`AtomicU64::new(0)`). The box owns it from here.
    Ok(unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, n)) })
}

/// Words needed for `bytes` bytes.
pub(crate) const fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

/// Up to 8 bytes as a little-endian word (missing bytes zero; past 8
/// ignored), in at most three loads (4 + 2 + 1 bytes) for a tail shorter
/// than a word: a short key or value tail costs a few instructions, where a
/// `copy_from_slice` of a run-time length is a `memcpy` call.
#[inline(always)]
fn tail_word(bytes: &[u8]) -> u64 {
    if let Some(w) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    let (mut v, mut shift, mut rest) = (0u64, 0u32, bytes);
    if let Some((w, r)) = rest.split_first_chunk::<4>() {
        v = u64::from(u32::from_le_bytes(*w));
        (shift, rest) = (32, r);
    }
    if let Some((w, r)) = rest.split_first_chunk::<2>() {
        v |= u64::from(u16::from_le_bytes(*w)) << shift;
        (shift, rest) = (shift + 16, r);
    }
    // `shift` is at most 48 here (under 8 bytes were left).
    if let Some(b) = rest.first() {
        v |= u64::from(*b) << shift;
    }
    v
}

/// Writes the first `dst.len()` (at most 8) bytes of little-endian `v`.
#[inline(always)]
fn put_tail(dst: &mut [u8], v: u64) {
    for (i, d) in dst.iter_mut().take(8).enumerate() {
        *d = (v >> (8 * i)) as u8;
    }
}

/// Copies `dst.len()` bytes out of `words` (little-endian packing).
#[inline]
pub(crate) fn load_bytes(words: &[AtomicU64], dst: &mut [u8]) {
    let (full, tail) = dst.as_chunks_mut::<8>();
    let mut words = words.iter();
    for (chunk, w) in full.iter_mut().zip(&mut words) {
        *chunk = w.load(Ordering::Relaxed).to_le_bytes();
    }
    if let Some(w) = words.next() {
        put_tail(tail, w.load(Ordering::Relaxed));
    }
}

/// Stores `src` into `words` (the last word's unused bytes zero).
#[inline]
pub(crate) fn store_bytes(words: &[AtomicU64], src: &[u8]) {
    let (full, tail) = src.as_chunks::<8>();
    let mut words = words.iter();
    for (chunk, w) in full.iter().zip(&mut words) {
        w.store(u64::from_le_bytes(*chunk), Ordering::Relaxed);
    }
    if let (false, Some(w)) = (tail.is_empty(), words.next()) {
        w.store(tail_word(tail), Ordering::Relaxed);
    }
}

/// Stores zero into every word.
pub(crate) fn zero(words: &[AtomicU64]) {
    for w in words {
        w.store(0, Ordering::Relaxed);
    }
}

/// A key packed into words once per call, to compare and hash word-wise.
#[derive(Clone, Copy)]
pub(crate) struct Key {
    pub(crate) words: [u64; words_for(wasmnf_common::maps::KEY_SIZE_MAX as usize)],
    pub(crate) n: usize,
}

impl Key {
    /// `bytes` packed (at most `KEY_SIZE_MAX` bytes; the caller checked).
    /// Inlined: the key is then built where the caller keeps it, not
    /// copied out of a call.
    #[inline(always)]
    pub(crate) fn pack(bytes: &[u8]) -> Key {
        let mut k = Key {
            words: [0; words_for(wasmnf_common::maps::KEY_SIZE_MAX as usize)],
            n: 0,
        };
        let (full, tail) = bytes.as_chunks::<8>();
        for (chunk, w) in full.iter().zip(k.words.iter_mut()) {
            *w = u64::from_le_bytes(*chunk);
            k.n += 1;
        }
        if let (false, Some(w)) = (tail.is_empty(), k.words.get_mut(k.n)) {
            *w = tail_word(tail);
            k.n += 1;
        }
        k
    }

    /// The packed words. `n` is at most the array's length ([`Key::pack`]
    /// packs at most that many); the `min` makes it so for the compiler
    /// too, so this has no index check (and no panic path).
    #[inline]
    pub(crate) fn words(&self) -> &[u64] {
        &self.words[..self.n.min(self.words.len())]
    }

    /// Whether `stored` holds this key (Relaxed loads: inside a read
    /// section or under the writer's lock).
    #[inline]
    pub(crate) fn matches(&self, stored: &[AtomicU64]) -> bool {
        self.words()
            .iter()
            .zip(stored)
            .all(|(k, s)| *k == s.load(Ordering::Relaxed))
    }

    /// Stores the key into `dst`.
    pub(crate) fn store(&self, dst: &[AtomicU64]) {
        for (k, d) in self.words().iter().zip(dst) {
            d.store(*k, Ordering::Relaxed);
        }
    }

    /// A keyed hash of the key (not cryptographic: the seed, random per
    /// map where the host has randomness, keeps an outsider from choosing
    /// colliding keys blindly, and probes are bounded anyway).
    #[inline]
    pub(crate) fn hash(&self, seed: u64) -> u64 {
        let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
        for &w in self.words() {
            h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 29;
        }
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 32)
    }
}

/// Reads under sequence word `seq`: runs `read` until it saw a state no
/// writer changed meanwhile, and returns what it returned with the state
/// (the word without bit 0). `None` after [`RETRIES`] torn attempts.
#[inline]
pub(crate) fn read_section<T>(seq: &AtomicU64, mut read: impl FnMut(u64) -> T) -> Option<(u64, T)> {
    for _ in 0..RETRIES {
        let before = seq.load(Ordering::Acquire);
        if before & WRITING != 0 {
            core::hint::spin_loop();
            continue;
        }
        let out = read(before);
        fence(Ordering::Acquire);
        if seq.load(Ordering::Relaxed) == before {
            return Some((before, out));
        }
    }
    None
}

/// Starts a write of the slot of `seq`: waits for a write in progress on
/// another CPU (one bounded write) and sets bit 0. Returns the word as it
/// was, for [`end_write`].
#[inline]
pub(crate) fn begin_write(seq: &AtomicU64) -> u64 {
    loop {
        let cur = seq.load(Ordering::Relaxed);
        if cur & WRITING == 0
            && seq
                .compare_exchange_weak(cur, cur | WRITING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            // Orders the data stores after the odd word (as the kernel's
            // write_seqcount_begin does with smp_wmb).
            fence(Ordering::Release);
            return cur;
        }
        core::hint::spin_loop();
    }
}

/// Ends a write begun at `before`: the slot's state becomes `state` (bits
/// 1..[`SEQ_SHIFT`]) and the counter advances.
#[inline]
pub(crate) fn end_write(seq: &AtomicU64, before: u64, state: u64) {
    let counter = (before >> SEQ_SHIFT).wrapping_add(1) << SEQ_SHIFT;
    seq.store(
        counter | (state & ((1 << SEQ_SHIFT) - 2)),
        Ordering::Release,
    );
}

/// The map-wide lock of structural writers (hash inserts and deletes, trie
/// changes). Readers never take it. In the kernel a writer holds it with
/// bottom halves off, for one bounded operation (docs/abi.md "Maps").
#[derive(Default)]
pub(crate) struct WriterLock(AtomicBool);

/// Evidence that the caller holds a [`WriterLock`]: functions that change
/// a map's structure take it.
pub(crate) struct Locked<'a>(&'a AtomicBool);

impl WriterLock {
    /// Takes the lock, spinning while another writer holds it.
    pub(crate) fn lock(&self) -> Locked<'_> {
        while self
            .0
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        Locked(&self.0)
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_word_is_the_little_endian_bytes_of_any_short_tail() {
        let bytes = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99];
        for n in 0..=bytes.len() {
            let mut want = 0u64;
            for (i, b) in bytes[..n].iter().take(8).enumerate() {
                want |= u64::from(*b) << (8 * i);
            }
            assert_eq!(tail_word(&bytes[..n]), want, "{n} bytes");
        }
    }
}
