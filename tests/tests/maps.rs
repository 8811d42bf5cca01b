//! Maps against references: each kind under long random operation sequences
//! (a `BTreeMap`, a naive longest-prefix scan), full maps, deletes, prefix
//! lengths 0 and max, IPv4 and IPv6 keys in one trie; and readers on other
//! threads while an updater changes entries, checking that no torn value
//! and no value of another entry is ever seen.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use wasmnf_bench::gen::Rng;
use wasmnf_common::maps::{kind, ret, ty, update, Decl};
use wasmnf_engine::{Cpus, GracePeriod, Map, Maps};

fn one(d: Decl, cpus: usize) -> Maps {
    Maps::new(&[d], cpus, 1 << 30, 7).expect("allocates")
}

fn flags(r: &mut Rng) -> i32 {
    [update::ANY, update::ANY, update::NOEXIST, update::EXIST][r.below(4) as usize]
}

/// What an update does to a reference map of capacity `max`.
fn expect_update<K: Ord + Clone, V>(
    m: &mut BTreeMap<K, V>,
    k: &K,
    v: V,
    flags: i32,
    max: usize,
) -> i32 {
    let exists = m.contains_key(k);
    match (exists, flags) {
        (true, update::NOEXIST) => ret::EEXIST,
        (false, update::EXIST) => ret::ENOENT,
        (false, _) if m.len() >= max => ret::E2BIG,
        _ => {
            m.insert(k.clone(), v);
            ret::OK
        }
    }
}

#[test]
fn hash_matches_a_btreemap() {
    for seed in 1..=4u64 {
        let max = 64;
        let maps = one(
            Decl::new(0, "h", kind::HASH, ty::HEX, 12, ty::U64, 16, max),
            1,
        );
        let m = maps.get(0).unwrap();
        let mut reference: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut r = Rng::new(seed * 0x9e37_79b9);
        let (mut hits, mut full) = (0, 0);
        for step in 0..200_000 {
            let mut key = vec![0u8; 12];
            key[..8].copy_from_slice(&r.below(160).to_le_bytes());
            let mut value = vec![0u8; 16];
            value[..8].copy_from_slice(&r.next_u64().to_le_bytes());
            let mut out = vec![0u8; 16];
            match r.below(10) {
                0..=3 => {
                    let f = flags(&mut r);
                    let want = expect_update(&mut reference, &key, value.clone(), f, max as usize);
                    full += usize::from(want == ret::E2BIG);
                    assert_eq!(
                        m.update(&key, &value, f, Cpus::All),
                        want,
                        "seed {seed} step {step}"
                    );
                }
                4..=5 => {
                    let want = if reference.remove(&key).is_some() {
                        ret::OK
                    } else {
                        ret::ENOENT
                    };
                    assert_eq!(m.delete(&key), want, "seed {seed} step {step}");
                }
                6 => {
                    let d = r.below(1000);
                    let at = 8 * r.below(2) as usize;
                    let len = reference.len();
                    let want = match reference.get_mut(&key) {
                        Some(v) => {
                            let x = u64::from_le_bytes(v[at..at + 8].try_into().unwrap())
                                .wrapping_add(d);
                            v[at..at + 8].copy_from_slice(&x.to_le_bytes());
                            ret::OK
                        }
                        None if len >= max as usize => ret::E2BIG,
                        None => {
                            let mut v = vec![0u8; 16];
                            v[at..at + 8].copy_from_slice(&d.to_le_bytes());
                            reference.insert(key.clone(), v);
                            ret::OK
                        }
                    };
                    assert_eq!(m.add(&key, at, d, 0), Some(want), "seed {seed} step {step}");
                }
                7 if r.below(2000) == 0 => {
                    m.clear();
                    reference.clear();
                }
                _ => {
                    let found = m.lookup(&key, 0, &mut out);
                    assert_eq!(
                        found,
                        reference.contains_key(&key),
                        "seed {seed} step {step}"
                    );
                    if found {
                        hits += 1;
                        assert_eq!(&out, &reference[&key], "seed {seed} step {step}");
                    }
                }
            }
            assert_eq!(m.len() as usize, reference.len());
        }
        assert!(
            hits > 1000 && full > 100,
            "the sequence exercised hits ({hits}) and a full map ({full})"
        );
        assert_eq!(
            entries(m),
            reference
                .into_iter()
                .map(|(k, v)| (k, vec![v]))
                .collect::<Vec<_>>()
        );
    }
}

/// A map's entries, sorted by key.
fn entries(m: &Map) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut all = Vec::new();
    m.entries(|k, v| all.push((k.to_vec(), v.to_vec())));
    all.sort();
    all
}

#[test]
fn percpu_hash_keeps_a_value_per_cpu() {
    let cpus = 4;
    let maps = one(
        Decl::new(0, "p", kind::PERCPU_HASH, ty::U32, 4, ty::U64, 8, 32),
        cpus,
    );
    let m = maps.get(0).unwrap();
    let mut reference: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut r = Rng::new(99);
    for step in 0..100_000 {
        let k = r.below(48) as u32;
        let key = k.to_le_bytes();
        let cpu = r.below(cpus as u64) as usize;
        let v = r.next_u64();
        match r.below(6) {
            0 | 1 => {
                let f = flags(&mut r);
                let target = if r.below(3) == 0 {
                    Cpus::All
                } else {
                    Cpus::One(cpu)
                };
                let exists = reference.contains_key(&k);
                let want = match (exists, f) {
                    (true, update::NOEXIST) => ret::EEXIST,
                    (false, update::EXIST) => ret::ENOENT,
                    (false, _) if reference.len() >= 32 => ret::E2BIG,
                    _ => {
                        let e = reference.entry(k).or_insert(vec![0; cpus]);
                        match target {
                            Cpus::All => e.iter_mut().for_each(|x| *x = v),
                            Cpus::One(c) => e[c] = v,
                        }
                        ret::OK
                    }
                };
                assert_eq!(
                    m.update(&key, &v.to_le_bytes(), f, target),
                    want,
                    "step {step}"
                );
            }
            2 => {
                let want = if reference.remove(&k).is_some() {
                    ret::OK
                } else {
                    ret::ENOENT
                };
                assert_eq!(m.delete(&key), want, "step {step}");
            }
            3 => {
                let d = r.below(100);
                let len = reference.len();
                let want = match reference.get_mut(&k) {
                    Some(e) => {
                        e[cpu] = e[cpu].wrapping_add(d);
                        ret::OK
                    }
                    None if len >= 32 => ret::E2BIG,
                    None => {
                        let mut e = vec![0; cpus];
                        e[cpu] = d;
                        reference.insert(k, e);
                        ret::OK
                    }
                };
                assert_eq!(m.add(&key, 0, d, cpu), Some(want), "step {step}");
            }
            _ => {
                let mut out = [0u8; 8];
                let found = m.lookup(&key, cpu, &mut out);
                assert_eq!(
                    found.then(|| u64::from_le_bytes(out)),
                    reference.get(&k).map(|e| e[cpu]),
                    "step {step}"
                );
            }
        }
    }
    let want: Vec<_> = reference
        .iter()
        .map(|(k, e)| {
            (
                k.to_le_bytes().to_vec(),
                e.iter().map(|v| v.to_le_bytes().to_vec()).collect(),
            )
        })
        .collect();
    assert_eq!(entries(m), want);
}

#[test]
fn arrays_are_preallocated_and_bounded() {
    for (k, cpus) in [(kind::ARRAY, 1), (kind::PERCPU_ARRAY, 3)] {
        let max = 16u32;
        let maps = one(Decl::new(0, "a", k, ty::U32, 4, ty::U64, 8, max), cpus);
        let m = maps.get(0).unwrap();
        let mut reference = vec![vec![0u64; cpus]; max as usize];
        let mut r = Rng::new(5);
        for step in 0..50_000 {
            let i = r.below(u64::from(max) + 3) as u32;
            let key = i.to_le_bytes();
            let cpu = r.below(cpus as u64) as usize;
            let inside = i < max;
            let v = r.next_u64();
            match r.below(5) {
                0 => {
                    let f = flags(&mut r);
                    let want = match (inside, f) {
                        (false, _) => ret::E2BIG,
                        (true, update::NOEXIST) => ret::EEXIST,
                        (true, _) => {
                            reference[i as usize][cpu] = v;
                            ret::OK
                        }
                    };
                    assert_eq!(
                        m.update(&key, &v.to_le_bytes(), f, Cpus::One(cpu)),
                        want,
                        "step {step}"
                    );
                }
                1 => assert_eq!(m.delete(&key), ret::EINVAL),
                2 => {
                    let want = if inside {
                        reference[i as usize][cpu] += 3;
                        ret::OK
                    } else {
                        ret::E2BIG
                    };
                    assert_eq!(m.add(&key, 0, 3, cpu), Some(want));
                }
                _ => {
                    let mut out = [0u8; 8];
                    let found = m.lookup(&key, cpu, &mut out);
                    assert_eq!(found, inside);
                    if inside {
                        assert_eq!(
                            u64::from_le_bytes(out),
                            reference[i as usize][cpu],
                            "step {step}"
                        );
                    }
                }
            }
        }
        assert_eq!(
            m.add(&0u32.to_le_bytes(), 4, 1, 0),
            None,
            "an unaligned add is refused"
        );
        assert_eq!(
            m.add(&0u32.to_le_bytes(), 8, 1, 0),
            None,
            "an add past the value is refused"
        );
        assert_eq!(entries(m).len(), max as usize);
    }
}

/// A naive longest-prefix table: (length, address in the top bits, value).
#[derive(Default)]
struct Naive(Vec<(u32, u128, u64)>);

fn top(a: u128, len: u32) -> u128 {
    if len == 0 {
        0
    } else {
        a & (u128::MAX << (128 - len))
    }
}

impl Naive {
    fn lookup(&self, len: u32, a: u128) -> Option<u64> {
        self.0
            .iter()
            .filter(|(l, p, _)| *l <= len && top(a, *l) == *p)
            .max_by_key(|(l, _, _)| *l)
            .map(|e| e.2)
    }
    fn find(&self, len: u32, a: u128) -> Option<usize> {
        self.0
            .iter()
            .position(|(l, p, _)| *l == len && *p == top(a, len))
    }
}

fn lpm_key(len: u32, a: u128, bytes: usize) -> Vec<u8> {
    let mut k = len.to_le_bytes().to_vec();
    k.extend_from_slice(&a.to_be_bytes()[..bytes]);
    k
}

/// Random prefixes from a small pool of addresses, so they nest and share
/// paths; lengths from 0 to `bits`, max and 0 included often.
fn lpm_sequence(bytes: usize, seed: u64) {
    let bits = bytes as u32 * 8;
    let max = 200u32;
    let maps = one(
        Decl::new(
            0,
            "t",
            kind::LPM,
            if bytes == 4 { ty::IPV4 } else { ty::IPV6 },
            4 + bytes as u32,
            ty::U64,
            8,
            max,
        ),
        1,
    );
    let m = maps.get(0).unwrap();
    let mut r = Rng::new(seed);
    let pool: Vec<u128> = (0..24)
        .map(|i| {
            let mut a = u128::from(r.next_u64()) << 64 | u128::from(r.next_u64());
            if bytes == 16 && i % 3 == 0 {
                // IPv4-mapped addresses (::ffff:a.b.c.d) beside native IPv6.
                a = 0xffffu128 << 96 | u128::from(r.next_u64() as u32);
            }
            top(a, bits)
        })
        .collect();
    let mut naive = Naive::default();
    let (mut found, mut full) = (0, 0);
    for step in 0..60_000 {
        let base = pool[r.below(pool.len() as u64) as usize];
        let flip = if r.below(3) == 0 {
            1u128 << (128 - 1 - r.below(u64::from(bits)) as u32)
        } else {
            0
        };
        let a = base ^ flip;
        let len = match r.below(8) {
            0 => 0,
            1 => bits,
            _ => r.below(u64::from(bits) + 1) as u32,
        };
        let key = lpm_key(len, a, bytes);
        let v = r.next_u64();
        match r.below(10) {
            0..=3 => {
                let f = flags(&mut r);
                let at = naive.find(len, a);
                let want = match (at, f) {
                    (Some(_), update::NOEXIST) => ret::EEXIST,
                    (None, update::EXIST) => ret::ENOENT,
                    (None, _) if naive.0.len() >= max as usize => ret::E2BIG,
                    (Some(i), _) => {
                        naive.0[i].2 = v;
                        ret::OK
                    }
                    (None, _) => {
                        naive.0.push((len, top(a, len), v));
                        ret::OK
                    }
                };
                full += usize::from(want == ret::E2BIG);
                let got = m.update(&key, &v.to_le_bytes(), f, Cpus::All);
                assert_eq!(got, want, "seed {seed} step {step}: update /{len}");
            }
            4..=5 => {
                let want = match naive.find(len, a) {
                    Some(i) => {
                        naive.0.swap_remove(i);
                        ret::OK
                    }
                    None => ret::ENOENT,
                };
                assert_eq!(
                    m.delete(&key),
                    want,
                    "seed {seed} step {step}: delete /{len}"
                );
            }
            6 if r.below(3000) == 0 => {
                m.clear();
                naive.0.clear();
            }
            _ => {
                let q = if r.below(4) == 0 { bits } else { len };
                let mut out = [0u8; 8];
                let got = m
                    .lookup(&lpm_key(q, a, bytes), 0, &mut out)
                    .then(|| u64::from_le_bytes(out));
                found += usize::from(got.is_some());
                assert_eq!(
                    got,
                    naive.lookup(q, a),
                    "seed {seed} step {step}: lookup /{q}"
                );
            }
        }
        assert_eq!(m.len() as usize, naive.0.len(), "seed {seed} step {step}");
        // One thread: between two operations no lookup is running.
        maps.reclaim(GracePeriod::elapsed());
    }
    assert!(
        found > 1000 && full > 10,
        "exercised hits ({found}) and a full trie ({full})"
    );
    let mut want: Vec<_> = naive
        .0
        .iter()
        .map(|(l, p, v)| (lpm_key(*l, *p, bytes), vec![v.to_le_bytes().to_vec()]))
        .collect();
    want.sort();
    assert_eq!(entries(m), want);
}

#[test]
fn lpm_ipv4_matches_a_naive_scan() {
    for seed in 1..=3 {
        lpm_sequence(4, seed);
    }
}

#[test]
fn lpm_ipv6_with_ipv4_mapped_matches_a_naive_scan() {
    for seed in 11..=13 {
        lpm_sequence(16, seed);
    }
}

#[test]
fn lpm_reuses_nodes_only_after_a_grace_period() {
    let maps = one(Decl::new(0, "t", kind::LPM, ty::IPV4, 8, ty::U32, 4, 2), 1);
    let m = maps.get(0).unwrap();
    let key = |a: u32, len: u32| lpm_key(len, u128::from(a) << 96, 4);
    assert_eq!(
        m.update(&key(0x0a00_0000, 8), &[1, 0, 0, 0], 0, Cpus::All),
        ret::OK
    );
    assert_eq!(
        m.update(&key(0xc000_0200, 24), &[2, 0, 0, 0], 0, Cpus::All),
        ret::OK
    );
    assert_eq!(
        m.update(&key(0xc000_0300, 24), &[3, 0, 0, 0], 0, Cpus::All),
        ret::E2BIG,
        "capacity 2"
    );
    assert_eq!(m.delete(&key(0xc000_0200, 24)), ret::OK);
    // Two nodes (the entry and the branch point) wait in limbo: a reader
    // that started before the delete may still walk them.
    assert_eq!(
        m.update(&key(0xc000_0300, 24), &[3, 0, 0, 0], 0, Cpus::All),
        ret::E2BIG
    );
    maps.reclaim(GracePeriod::elapsed());
    assert_eq!(
        m.update(&key(0xc000_0300, 24), &[3, 0, 0, 0], 0, Cpus::All),
        ret::OK
    );
    let mut out = [0u8; 4];
    assert!(m.lookup(&key(0xc000_0301, 32), 0, &mut out));
    assert_eq!(out[0], 3);
    assert!(!m.lookup(&key(0xc000_0201, 32), 0, &mut out));
    assert!(m.lookup(&key(0x0a01_0203, 32), 0, &mut out));
    assert_eq!(out[0], 1);
    assert_eq!(
        m.update(&key(0x0a00_0000, 33), &[0; 4], 0, Cpus::All),
        ret::EINVAL,
        "prefix past 32 bits"
    );
}

/// A host scan ([`Map::next_entry`], what the kernel's dump runs) stopped
/// and resumed at every entry sees what one full scan sees, for every kind;
/// a cleared trie has no entry left to scan (its nodes wait in limbo
/// without values) and its nodes come back after a grace period.
#[test]
fn scans_resume_anywhere_and_clear_leaves_nothing() {
    let decls = [
        Decl::new(0, "h", kind::HASH, ty::U32, 4, ty::U64, 8, 100),
        Decl::new(1, "p", kind::PERCPU_HASH, ty::U32, 4, ty::U64, 8, 100),
        Decl::new(2, "a", kind::ARRAY, ty::U32, 4, ty::U64, 8, 50),
        Decl::new(3, "t", kind::LPM, ty::IPV4, 8, ty::U64, 8, 100),
    ];
    let maps = Maps::new(&decls, 3, 1 << 30, 11).unwrap();
    let mut r = Rng::new(5);
    for m in maps.iter() {
        let d = *m.decl();
        for i in 0..80u32 {
            let key = match d.kind {
                kind::LPM => lpm_key(
                    8 + r.below(25) as u32,
                    u128::from(r.next_u64() as u32) << 96,
                    4,
                ),
                kind::ARRAY => (i % 50).to_le_bytes().to_vec(),
                _ => (r.next_u64() as u32).to_le_bytes().to_vec(),
            };
            m.update(
                &key,
                &u64::from(i + 1).to_le_bytes(),
                update::ANY,
                Cpus::All,
            );
        }
        let rows = m.rows();
        assert_eq!(rows, if d.per_cpu() { 3 } else { 1 }, "{}", d.name());
        let full = entries(m);
        assert!(!full.is_empty());
        // One step at a time, resuming from each returned cursor.
        let mut stepped = Vec::new();
        let (mut key, mut values) = (vec![0u8; d.key_size as usize], vec![0u8; 8 * rows]);
        let mut cursor = 0;
        while let Some(next) = m.next_entry(cursor, &mut key, &mut values) {
            assert!(next > cursor, "{}: the cursor moves on", d.name());
            stepped.push((
                key.clone(),
                values.chunks(8).map(<[u8]>::to_vec).collect::<Vec<_>>(),
            ));
            cursor = next;
        }
        stepped.sort();
        assert_eq!(stepped, full, "{}", d.name());
        for (k, v) in &full {
            let mut got = vec![0u8; 8 * rows];
            assert!(m.lookup_rows(k, &mut got), "{}", d.name());
            assert_eq!(got, v.concat(), "{}", d.name());
        }
        m.clear();
        let left = entries(m);
        match d.kind {
            kind::ARRAY => assert!(left
                .iter()
                .all(|(_, v)| v.iter().all(|x| x.iter().all(|b| *b == 0)))),
            _ => assert_eq!(left, Vec::new(), "{}: cleared", d.name()),
        }
    }
    // The trie's nodes are reusable once a grace period has passed: the
    // whole capacity goes in again.
    let t = maps.get(3).unwrap();
    maps.reclaim(GracePeriod::elapsed());
    for i in 0..100u32 {
        let key = lpm_key(32, u128::from(0x0a00_0000 + i) << 96, 4);
        assert_eq!(
            t.update(&key, &[1; 8], update::NOEXIST, Cpus::All),
            ret::OK,
            "entry {i}"
        );
    }
    assert_eq!(entries(t).len(), 100);
}

/// Readers on three threads while one updater rewrites entries. Every value
/// an updater writes is self-checking (its words derive from one number and
/// the key), so a torn copy shows; numbers only grow per key, so a value
/// older than one the reader already saw shows too.
#[test]
fn readers_never_see_torn_or_stale_hash_values() {
    let maps = Arc::new(one(
        Decl::new(0, "h", kind::HASH, ty::U32, 4, ty::U64, 32, 64),
        1,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (maps, stop) = (maps.clone(), stop.clone());
            std::thread::spawn(move || {
                let m = maps.get(0).unwrap();
                let mut last = [0u64; 64];
                let mut seen = 0u64;
                let mut r = Rng::new(t + 1);
                while !stop.load(Ordering::Relaxed) {
                    let k = r.below(64) as u32;
                    let mut out = [0u8; 32];
                    if m.lookup(&k.to_le_bytes(), 0, &mut out) {
                        let w: Vec<u64> = out
                            .chunks(8)
                            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
                            .collect();
                        assert_eq!(w[1], w[0] ^ u64::from(k), "torn value");
                        assert_eq!(w[2], !w[0], "torn value");
                        assert_eq!(w[3], w[0].rotate_left(17), "torn value");
                        assert!(
                            w[0] >= last[k as usize],
                            "a value older than one already seen"
                        );
                        last[k as usize] = w[0];
                        seen += 1;
                    }
                }
                seen
            })
        })
        .collect();
    let m = maps.get(0).unwrap();
    let mut r = Rng::new(77);
    for n in 1..=300_000u64 {
        let k = r.below(64) as u32;
        if r.below(8) == 0 {
            m.delete(&k.to_le_bytes());
            continue;
        }
        let mut v = Vec::new();
        for w in [n, n ^ u64::from(k), !n, n.rotate_left(17)] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        assert_ne!(
            m.update(&k.to_le_bytes(), &v, update::ANY, Cpus::All),
            ret::E2BIG
        );
    }
    stop.store(true, Ordering::Relaxed);
    let seen: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(seen > 10_000, "readers saw {seen} values");
}

/// The same for the trie, with grace periods as a host would run them: an
/// updater reclaims deleted nodes only after every reader has passed a
/// quiescent point. Each value names its prefix, so a lookup that walked
/// into a reused node and returned another prefix's value shows.
#[test]
fn readers_never_see_a_value_of_a_prefix_that_does_not_match() {
    let maps = Arc::new(one(
        Decl::new(0, "t", kind::LPM, ty::IPV4, 8, ty::U64, 16, 256),
        1,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    // Per reader: odd while inside a lookup.
    let epochs: Arc<Vec<AtomicU64>> = Arc::new((0..3).map(|_| AtomicU64::new(0)).collect());
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (maps, stop, epochs) = (maps.clone(), stop.clone(), epochs.clone());
            std::thread::spawn(move || {
                let m = maps.get(0).unwrap();
                let mut r = Rng::new(t as u64 + 5);
                let mut hits = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let a = (r.next_u64() as u32) & 0xff0f_0f0f;
                    epochs[t].fetch_add(1, Ordering::SeqCst);
                    let mut out = [0u8; 16];
                    let found = m.lookup(&lpm_key(32, u128::from(a) << 96, 4), 0, &mut out);
                    epochs[t].fetch_add(1, Ordering::SeqCst);
                    if found {
                        let len = u64::from_le_bytes(out[..8].try_into().unwrap());
                        let p = u64::from_le_bytes(out[8..].try_into().unwrap());
                        assert!(len <= 32 && p >> 32 == len, "torn value");
                        let prefix = (p as u32) as u128;
                        assert_eq!(
                            top(u128::from(a) << 96, len as u32),
                            prefix << 96,
                            "a value of a prefix that does not cover the address"
                        );
                        hits += 1;
                    }
                }
                hits
            })
        })
        .collect();
    let m = maps.get(0).unwrap();
    let mut r = Rng::new(3);
    let grace = |epochs: &Vec<AtomicU64>| {
        let before: Vec<u64> = epochs.iter().map(|e| e.load(Ordering::SeqCst)).collect();
        for (e, b) in epochs.iter().zip(before) {
            while b % 2 == 1 && e.load(Ordering::SeqCst) == b {
                std::hint::spin_loop();
            }
        }
        GracePeriod::elapsed()
    };
    for n in 0..200_000u32 {
        let len = 8 + r.below(25) as u32;
        let a = top(u128::from((r.next_u64() as u32) & 0xff0f_0f0f) << 96, len);
        let key = lpm_key(len, a, 4);
        if r.below(2) == 0 {
            m.delete(&key);
        } else {
            let mut v = u64::from(len).to_le_bytes().to_vec();
            v.extend_from_slice(&(u64::from(len) << 32 | (a >> 96) as u64).to_le_bytes());
            m.update(&key, &v, update::ANY, Cpus::All);
        }
        if n % 64 == 0 {
            maps.reclaim(grace(&epochs));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let hits: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(hits > 1000, "readers found {hits} prefixes");
}

#[test]
fn declarations_over_the_memory_limit_are_refused_by_name() {
    let small = Decl::new(0, "small", kind::HASH, ty::U32, 4, ty::U32, 4, 16);
    let big = Decl::new(1, "blocklist", kind::LPM, ty::IPV4, 8, ty::U32, 4, 1 << 24);
    let e = Maps::new(&[small, big], 1, 1 << 20, 0).expect_err("refused");
    assert!(e.to_string().contains("map `blocklist`"), "{e}");
    assert!(e.to_string().contains("--map-memory"), "{e}");
    assert!(Maps::new(&[small], 1, 1 << 20, 0).is_ok());
}
