// SPDX-License-Identifier: GPL-2.0

//! The family's map commands (`docs/netlink.md` "Maps"): describe, read,
//! write and scan the maps of a loaded filter while its packets flow.
//!
//! Every request names a filter (`NAME`) and, but for `MAP_INFO` dumps, a
//! map (`MAP`). Keys and values must have exactly the declared sizes; the
//! engine checks them again. Contexts, and why they are safe:
//! - the registry's mutex is held for the whole request, so the filter
//!   cannot be replaced or unloaded between the steps of one request;
//! - reads and scans run inside an RCU read-side section (the filter's
//!   runtime is RCU-published; a trie node read during a scan is not reused
//!   before it ends);
//! - each write runs with bottom halves off ([`BhGuard`]), one bounded map
//!   operation at a time: a filter on this CPU writing the same map from
//!   the packet path cannot interrupt the writer while it holds the map's
//!   lock, and packets wait for at most one operation;
//! - after deletes and clears, [`synchronize_rcu`] then lets the tries
//!   reuse the nodes they unlinked.
//!
//! Batches (`MAP_UPDATE`, `MAP_DELETE`) are checked whole (sizes, count)
//! before the first entry is applied, then applied in order; an entry the
//! map refuses (a full map, an existing key under create-only) stops the
//! batch, and the extended ack says which entry and how many went in.

use crate::contract::genl::{attr, cmd, BATCH_MAX};
use crate::contract::maps::{self, kind, ret, Decl, RECORD_SIZE};
use crate::control::{name_of, nul_terminated, refuse, registry_error, u32_of};
use crate::engine_ffi::{EngineFilter, MapId, MapRet};
use crate::net::cpu::{synchronize_rcu, BhGuard};
use crate::net::genl::{Dump, Request, Writer};
use crate::registry::{self, Name, Registry};
use core::ffi::CStr;
use kernel::prelude::*;

/// A map name from a request: 1 to `maps::NAME_MAX` bytes, NUL-terminated.
struct MapName([u8; maps::NAME_MAX + 1]);

impl MapName {
    /// From an attribute's payload: the name, a NUL, and only NULs after.
    fn parse(raw: &[u8]) -> Option<MapName> {
        let s = nul_terminated(raw).filter(|s| maps::valid_name(s))?;
        let mut b = [0u8; maps::NAME_MAX + 1];
        b.get_mut(..s.len())?.copy_from_slice(s);
        Some(MapName(b))
    }

    fn as_bytes(&self) -> &[u8] {
        let n = self.0.iter().position(|b| *b == 0).unwrap_or(self.0.len());
        &self.0[..n]
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// The map a request names, resolved under the registry's lock.
struct Target {
    id: MapId,
    decl: Decl,
    bytes: u64,
    entries: u32,
    rows: usize,
}

impl Target {
    /// Bytes of one value row, and of all rows.
    fn value_size(&self) -> usize {
        self.decl.value_size as usize
    }
}

fn map_of(req: &mut Request<'_>) -> Result<MapName> {
    let Some(raw) = req.attr(attr::MAP) else {
        return Err(refuse(req, EINVAL, format_args!("missing attribute MAP")));
    };
    MapName::parse(raw).ok_or_else(|| {
        refuse(
            req,
            EINVAL,
            format_args!("MAP must be 1-31 characters of [A-Za-z0-9_]"),
        )
    })
}

/// The declaration of map `id` of `f`, with its memory and entry count.
fn describe(f: &EngineFilter, id: MapId) -> Option<Target> {
    let info = f.map_info(id)?;
    let decl = Decl::decode(&info.decl).ok()?;
    Some(Target {
        id,
        decl,
        bytes: info.bytes,
        entries: info.entries,
        rows: info.rows.max(1) as usize,
    })
}

/// Finds map `map` of filter `name`, or refuses the request.
fn resolve(req: &mut Request<'_>, r: &Registry, name: &Name, map: &MapName) -> Result<Target> {
    let net = req.net();
    let found = r.with_runtime(net, name, |rt, _| {
        let f = rt.filter();
        f.map_named(map.as_bytes()).and_then(|id| describe(f, id))
    });
    match found {
        Err(e) => Err(registry_error(req, name, e)),
        Ok(None) => Err(refuse(
            req,
            ENOENT,
            format_args!("filter {} has no map {}", name.as_str(), map.as_str()),
        )),
        Ok(Some(t)) => Ok(t),
    }
}

/// The errno of a map operation's answer.
fn errno(r: MapRet) -> Error {
    Error::from_errno(r)
}

/// Why the map refused one entry, for the extended ack.
fn reason(r: MapRet, t: &Target) -> &'static str {
    match (r, t.decl.kind) {
        (ret::EEXIST, _) => "key exists (create-only)",
        (ret::ENOENT, _) => "no such key",
        (ret::E2BIG, kind::ARRAY | kind::PERCPU_ARRAY) => "index past the array's end",
        (ret::E2BIG, _) => "map is full",
        (ret::EINVAL, kind::LPM) => "prefix longer than the address",
        (ret::EINVAL, kind::ARRAY | kind::PERCPU_ARRAY) => "array entries cannot be deleted",
        _ => "refused by the map",
    }
}

/// Puts a map's description (`MAP_INFO`'s attributes).
fn put_info(w: &mut Writer, t: &Target) -> Result {
    let mut name = [0u8; maps::NAME_MAX + 1];
    let n = t.decl.name().as_bytes();
    name.get_mut(..n.len()).ok_or(EINVAL)?.copy_from_slice(n);
    let name = CStr::from_bytes_until_nul(&name).map_err(|_| EINVAL)?;
    w.put_cstr(attr::MAP, name)?;
    let record: [u8; RECORD_SIZE] = t.decl.encode();
    w.put_bytes(attr::MAP_DECL, &record)?;
    w.put_u64(attr::MAP_BYTES, t.bytes, attr::PAD)?;
    w.put_u32(attr::MAP_ENTRIES, t.entries)?;
    w.put_u32(attr::MAP_ROWS, t.rows as u32)
}

/// Room for one `MAP_INFO` reply.
const INFO_SIZE: usize = 256;

/// `MAP_INFO` (do): one map's description.
pub(crate) fn info(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let map = map_of(req)?;
    registry::with(|r| {
        let t = resolve(req, r, &name, &map)?;
        let mut reply = req.reply(cmd::MAP_INFO, INFO_SIZE)?;
        put_info(reply.writer(), &t)?;
        req.send(reply)
    })
    .ok_or(ENODEV)?
}

/// `MAP_INFO` (dump): every map of filter `NAME`, by id.
pub(crate) fn info_dump(d: &mut Dump<'_>) -> Result {
    let name = d
        .attr(attr::NAME)
        .and_then(nul_terminated)
        .and_then(Name::new)
        .ok_or(EINVAL)?;
    let net = d.net();
    let mut id = u32::try_from(*d.position()).unwrap_or(u32::MAX);
    registry::with(|r| {
        d.set_generation(r.generation());
        loop {
            let t = r
                .with_runtime(net, &name, |rt, _| {
                    let f = rt.filter();
                    f.map(id).and_then(|m| describe(f, m))
                })
                .map_err(|_| ENOENT)?;
            let Some(t) = t else { break };
            let Some(mut entry) = d.begin(cmd::MAP_INFO) else {
                break;
            };
            if put_info(entry.writer(), &t).is_err() {
                break;
            }
            entry.end();
            id += 1;
        }
        *d.position() = id as kernel::ffi::c_long;
        Ok(())
    })
    .ok_or(ENODEV)?
}

/// A key from a request, checked against the map's key size.
fn key_of<'p>(req: &'p Request<'_>, t: &Target) -> Option<&'p [u8]> {
    req.attr(attr::KEY)
        .filter(|k| k.len() == t.decl.key_size as usize)
}

fn size_error(req: &mut Request<'_>, what: &str, got: usize, want: u32) -> Error {
    refuse(
        req,
        EINVAL,
        format_args!("{what} is {got} bytes, the map's is {want}"),
    )
}

/// `MAP_GET` (do): the value of `KEY`, one `VALUE` per row.
pub(crate) fn get(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let map = map_of(req)?;
    let net = req.net();
    registry::with(|r| {
        let t = resolve(req, r, &name, &map)?;
        let Some(key) = key_of(req, &t) else {
            let got = req.attr(attr::KEY).map_or(0, <[u8]>::len);
            return Err(size_error(req, "KEY", got, t.decl.key_size));
        };
        let mut k = [0u8; maps::KEY_SIZE_MAX as usize];
        let key = {
            let k = k.get_mut(..key.len()).ok_or(EINVAL)?;
            k.copy_from_slice(key);
            &*k
        };
        let mut value = KVec::from_elem(0u8, t.value_size() * t.rows, crate::gfp_request())?;
        let found = r
            .with_runtime(net, &name, |rt, _| {
                rt.filter().map_lookup(t.id, key, &mut value)
            })
            .map_err(|e| registry_error(req, &name, e))?;
        if found != ret::OK {
            return Err(refuse(
                req,
                errno(found),
                format_args!("no such key in map {}", map.as_str()),
            ));
        }
        let mut reply = req.reply(cmd::MAP_GET, 64 + key.len() + value.len() + 8 * t.rows)?;
        let w = reply.writer();
        w.put_bytes(attr::KEY, key)?;
        for row in value.chunks(t.value_size()) {
            w.put_bytes(attr::VALUE, row)?;
        }
        req.send(reply)
    })
    .ok_or(ENODEV)?
}

/// Where a finished scan leaves the dump's position.
const SCAN_DONE: kernel::ffi::c_long = kernel::ffi::c_long::MAX;

/// `MAP_GET` (dump): every entry of the map, one message each, resumed
/// from the scan's cursor every round. Not a snapshot (`Map::next_entry`):
/// an entry present throughout the dump is seen exactly once.
pub(crate) fn dump(d: &mut Dump<'_>) -> Result {
    if *d.position() == SCAN_DONE {
        return Ok(());
    }
    let name = d
        .attr(attr::NAME)
        .and_then(nul_terminated)
        .and_then(Name::new)
        .ok_or(EINVAL)?;
    let map = d.attr(attr::MAP).and_then(MapName::parse).ok_or(EINVAL)?;
    let net = d.net();
    let mut cursor = u64::try_from(*d.position()).map_err(|_| EINVAL)?;
    registry::with(|r| {
        d.set_generation(r.generation());
        let t = r
            .with_runtime(net, &name, |rt, _| {
                let f = rt.filter();
                f.map_named(map.as_bytes()).and_then(|id| describe(f, id))
            })
            .map_err(|_| ENOENT)?
            .ok_or(ENOENT)?;
        let mut key = [0u8; maps::KEY_SIZE_MAX as usize];
        let key = key.get_mut(..t.decl.key_size as usize).ok_or(EINVAL)?;
        let mut value = KVec::from_elem(0u8, t.value_size() * t.rows, crate::gfp_request())?;
        let mut done = 0usize;
        let scanned = r
            .with_runtime(net, &name, |rt, rcu| -> Result {
                loop {
                    let next = match rt.filter().map_next(rcu, t.id, cursor, key, &mut value) {
                        Ok(Some(next)) => next,
                        Ok(None) => {
                            cursor = SCAN_DONE as u64;
                            return Ok(());
                        }
                        Err(e) => return Err(errno(e)),
                    };
                    let Some(mut entry) = d.begin(cmd::MAP_GET) else {
                        return if done == 0 {
                            Err(crate::net::genl::emsgsize())
                        } else {
                            Ok(())
                        };
                    };
                    let w = entry.writer();
                    let mut put = w.put_bytes(attr::KEY, key);
                    for row in value.chunks(t.value_size()) {
                        put = put.and_then(|()| w.put_bytes(attr::VALUE, row));
                    }
                    if put.is_err() {
                        // The round's buffer is full: resume at this entry.
                        return if done == 0 {
                            Err(crate::net::genl::emsgsize())
                        } else {
                            Ok(())
                        };
                    }
                    entry.end();
                    done += 1;
                    cursor = next;
                }
            })
            .map_err(|_| ENOENT)?;
        scanned?;
        *d.position() = cursor as kernel::ffi::c_long;
        Ok(())
    })
    .ok_or(ENODEV)?
}

/// Checks a batch: `pairs` says whether it is `KEY`, `VALUE` pairs
/// (update) or `KEY`s (delete). The entry count, or what is wrong.
fn check_batch(
    req: &Request<'_>,
    t: &Target,
    pairs: bool,
) -> core::result::Result<usize, BatchError> {
    let (ks, vs) = (t.decl.key_size as usize, t.value_size());
    let mut n = 0usize;
    let mut want_value = false;
    for (ty, p) in req.attrs() {
        match ty {
            attr::KEY if want_value => return Err(BatchError::Order(n)),
            attr::KEY if p.len() != ks => return Err(BatchError::KeySize(n, p.len())),
            attr::KEY => {
                n += 1;
                want_value = pairs;
            }
            attr::VALUE if !want_value => return Err(BatchError::Order(n)),
            attr::VALUE if p.len() != vs => return Err(BatchError::ValueSize(n, p.len())),
            attr::VALUE => want_value = false,
            _ => {}
        }
    }
    if want_value {
        return Err(BatchError::Order(n));
    }
    match n {
        0 => Err(BatchError::Empty),
        n if n > BATCH_MAX => Err(BatchError::TooMany(n)),
        n => Ok(n),
    }
}

/// What is wrong with a batch (entries numbered from 1).
enum BatchError {
    Empty,
    TooMany(usize),
    Order(usize),
    KeySize(usize, usize),
    ValueSize(usize, usize),
}

fn batch_error(req: &mut Request<'_>, t: &Target, e: BatchError, pairs: bool) -> Error {
    match e {
        BatchError::Empty => refuse(req, EINVAL, format_args!("missing attribute KEY")),
        BatchError::TooMany(n) => refuse(
            req,
            E2BIG,
            format_args!("{n} entries in one message, at most {BATCH_MAX}"),
        ),
        BatchError::Order(n) if pairs => refuse(
            req,
            EINVAL,
            format_args!("entry {}: each KEY must be followed by its VALUE", n.max(1)),
        ),
        BatchError::Order(n) => refuse(
            req,
            EINVAL,
            format_args!("entry {}: a delete carries only KEYs", n.max(1)),
        ),
        BatchError::KeySize(n, got) => refuse(
            req,
            EINVAL,
            format_args!(
                "entry {}: KEY is {got} bytes, the map's is {}",
                n + 1,
                t.decl.key_size
            ),
        ),
        BatchError::ValueSize(n, got) => refuse(
            req,
            EINVAL,
            format_args!(
                "entry {n}: VALUE is {got} bytes, the map's is {}",
                t.decl.value_size
            ),
        ),
    }
}

/// Lets the filter's tries reuse nodes its deletes unlinked: waits for a
/// grace period (every filter run and scan that could see them has ended).
fn reclaim(r: &Registry, net: &crate::net::netns::Net, name: &Name, t: &Target) {
    if t.decl.kind != kind::LPM {
        return;
    }
    let grace = synchronize_rcu();
    let _ = r.with_runtime(net, name, |rt, _| {
        let bh = BhGuard::new();
        rt.filter().maps_reclaim(&bh, &grace)
    });
}

/// Applies a checked batch: `(applied, Some(refusal))` if an entry stopped it.
fn apply(
    req: &Request<'_>,
    f: &EngineFilter,
    t: &Target,
    flags: i32,
    pairs: bool,
) -> (usize, Option<MapRet>) {
    let mut applied = 0usize;
    let mut key: Option<&[u8]> = None;
    for (ty, p) in req.attrs() {
        let r = match (ty, key) {
            (attr::KEY, _) if pairs => {
                key = Some(p);
                continue;
            }
            (attr::KEY, _) => {
                let bh = BhGuard::new();
                f.map_delete(&bh, t.id, p)
            }
            (attr::VALUE, Some(k)) => {
                key = None;
                let bh = BhGuard::new();
                f.map_update(&bh, t.id, k, p, flags)
            }
            _ => continue,
        };
        if r != ret::OK {
            return (applied, Some(r));
        }
        applied += 1;
    }
    (applied, None)
}

/// `MAP_UPDATE` and `MAP_DELETE`.
fn write(req: &mut Request<'_>, pairs: bool) -> Result {
    let name = name_of(req)?;
    let map = map_of(req)?;
    let flags = req
        .attr(attr::UPDATE_FLAGS)
        .and_then(u32_of)
        .map_or(maps::update::ANY, |v| v as i32);
    let net = req.net();
    registry::with(|r| {
        let t = resolve(req, r, &name, &map)?;
        let n = match check_batch(req, &t, pairs) {
            Ok(n) => n,
            Err(e) => return Err(batch_error(req, &t, e, pairs)),
        };
        let outcome = r.with_runtime(net, &name, |rt, _| {
            apply(req, rt.filter(), &t, flags, pairs)
        });
        let (applied, refused) = outcome.map_err(|e| registry_error(req, &name, e))?;
        if !pairs && applied > 0 {
            reclaim(r, net, &name, &t);
        }
        match refused {
            None => Ok(()),
            Some(e) => Err(refuse(
                req,
                errno(e),
                format_args!(
                    "entry {} of {n}: {}; {applied} applied before it",
                    applied + 1,
                    reason(e, &t)
                ),
            )),
        }
    })
    .ok_or(ENODEV)?
}

/// Fills a filter being loaded from the `LOAD` request's entries: each
/// `MAP` names the map the `KEY` `VALUE` pairs after it go into. Runs
/// before the filter is attached (no packet sees it half-filled); any
/// error refuses the load, naming the map and entry, and the new filter
/// with its maps is dropped.
pub(crate) fn prefill(req: &mut Request<'_>, f: &EngineFilter) -> Result {
    let mut target: Option<Target> = None;
    let mut key: Option<&[u8]> = None;
    let mut n = 0usize;
    let mut failure = None;
    for (ty, p) in req.attrs() {
        match ty {
            attr::MAP => {
                let found = MapName::parse(p)
                    .and_then(|m| f.map_named(m.as_bytes()).and_then(|id| describe(f, id)));
                match found {
                    Some(t) => target = Some(t),
                    None => {
                        failure = Some(Prefill::NoMap);
                        break;
                    }
                }
                key = None;
                n = 0;
            }
            attr::KEY => key = Some(p),
            attr::VALUE => {
                let (Some(t), Some(k)) = (&target, key.take()) else {
                    failure = Some(Prefill::Order);
                    break;
                };
                n += 1;
                if k.len() != t.decl.key_size as usize || p.len() != t.value_size() {
                    failure = Some(Prefill::Size(n));
                    break;
                }
                let bh = BhGuard::new();
                let r = f.map_update(&bh, t.id, k, p, maps::update::ANY);
                if r != ret::OK {
                    failure = Some(Prefill::Refused(n, r));
                    break;
                }
            }
            _ => {}
        }
    }
    let map = target.as_ref().map_or("", |t| t.decl.name());
    match (failure, &target) {
        (None, _) if key.is_some() => Err(refuse(
            req,
            EINVAL,
            format_args!("map {map}: a KEY without its VALUE"),
        )),
        (None, _) => Ok(()),
        (Some(Prefill::NoMap), _) => Err(refuse(
            req,
            ENOENT,
            format_args!("MAP names no map of this filter"),
        )),
        (Some(Prefill::Order), _) => Err(refuse(
            req,
            EINVAL,
            format_args!("entries need a MAP before them, and a KEY before each VALUE"),
        )),
        (Some(Prefill::Size(i)), _) => Err(refuse(
            req,
            EINVAL,
            format_args!("map {map} entry {i}: wrong KEY or VALUE size"),
        )),
        (Some(Prefill::Refused(i, r)), Some(t)) => {
            let why = reason(r, t);
            Err(refuse(
                req,
                errno(r),
                format_args!("map {map} entry {i}: {why}"),
            ))
        }
        (Some(Prefill::Refused(_, r)), None) => Err(errno(r)),
    }
}

/// Why [`prefill`] stopped (entries numbered from 1 per map).
enum Prefill {
    NoMap,
    Order,
    Size(usize),
    Refused(usize, MapRet),
}

/// `MAP_UPDATE`: `KEY`, `VALUE` pairs under `UPDATE_FLAGS`.
pub(crate) fn update(req: &mut Request<'_>) -> Result {
    write(req, true)
}

/// `MAP_DELETE`: one or more `KEY`s.
pub(crate) fn delete(req: &mut Request<'_>) -> Result {
    write(req, false)
}

/// `MAP_CLEAR`: every entry goes (an array is zeroed).
pub(crate) fn clear(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let map = map_of(req)?;
    let net = req.net();
    registry::with(|r| {
        let t = resolve(req, r, &name, &map)?;
        let cleared = r.with_runtime(net, &name, |rt, _| {
            let bh = BhGuard::new();
            rt.filter().map_clear(&bh, t.id)
        });
        let cleared = cleared.map_err(|e| registry_error(req, &name, e))?;
        if cleared != ret::OK {
            return Err(errno(cleared));
        }
        reclaim(r, net, &name, &t);
        Ok(())
    })
    .ok_or(ENODEV)?
}
