// SPDX-License-Identifier: GPL-2.0

//! The control plane: the `wasmnf` generic-netlink family, version 1, as
//! `docs/netlink.md` specifies it. Every number (commands, attributes,
//! counters, ranges) comes from the contract (`crate::contract::genl`, the
//! same source the CLI compiles); a test checks the document against it.
//!
//! The kernel's parser enforces the policy (types, lengths, ranges, unknown
//! attributes) and `CAP_NET_ADMIN`; this file checks what a policy cannot
//! express (required attributes, name characters, the family's values, the
//! total module size), assembles the module from its chunks, and hands it to
//! the registry, which has the engine check it again in the kernel.

use crate::contract::counters::{Counter, Counters};
use crate::contract::genl::{self as wire, attr, cmd};
use crate::contract::maps;
use crate::net::genl::{self, AttrPolicy, Dump, OpSpec, Request, Writer};
use crate::net::netfilter::{Family, HookPoint};
use crate::registry::{self, FilterInfo, Name, RegistryError, Settings};
use core::fmt;
use kernel::prelude::*;

// The policy's ranges are `s16` (`struct nla_policy`).
const _: () = assert!(wire::HOOK_RANGE.1 <= i16::MAX as u32);
const _: () = assert!(wire::MEMORY_PAGES_RANGE.1 <= i16::MAX as u32);

/// Largest chunk or configuration attribute.
const CHUNK_MAX: u16 = wire::CHUNK_MAX as u16;
const _: () = assert!(wire::CHUNK_MAX <= u16::MAX as usize);

const REPLY_ONLY: &core::ffi::CStr = c"attribute is only used in replies";

/// The policy, attribute 1 first.
const POLICY: [AttrPolicy; wire::ATTR_MAX as usize] = [
    AttrPolicy::NulString {
        max_len: wire::NAME_MAX as u16,
    },
    AttrPolicy::U32Range {
        min: wire::HOOK_RANGE.0 as i16,
        max: wire::HOOK_RANGE.1 as i16,
    },
    AttrPolicy::U32,
    AttrPolicy::S32,
    AttrPolicy::U64Range {
        min: wire::FUEL_RANGE.0,
        max: wire::FUEL_RANGE.1,
    },
    AttrPolicy::U32Range {
        min: wire::MEMORY_PAGES_RANGE.0 as i16,
        max: wire::MEMORY_PAGES_RANGE.1 as i16,
    },
    AttrPolicy::U8 {
        min: wire::on_error::ACCEPT as i16,
        max: wire::on_error::DROP as i16,
    },
    AttrPolicy::Binary {
        min: 0,
        max: CHUNK_MAX,
    },
    AttrPolicy::Binary {
        min: 1,
        max: CHUNK_MAX,
    },
    AttrPolicy::Flag,
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::NulString {
        max_len: maps::NAME_MAX as u16,
    },
    AttrPolicy::Binary {
        min: 1,
        max: maps::KEY_SIZE_MAX as u16,
    },
    AttrPolicy::Binary {
        min: 1,
        max: maps::VALUE_SIZE_MAX as u16,
    },
    AttrPolicy::U32Range {
        min: maps::update::ANY as i16,
        max: maps::update::EXIST as i16,
    },
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::U64Range {
        min: wire::MAP_MEMORY_RANGE.0,
        max: wire::MAP_MEMORY_RANGE.1,
    },
    AttrPolicy::Reject(REPLY_ONLY),
    AttrPolicy::Flag,
];

// The policy's lengths and ranges fit their `u16`/`s16` fields.
const _: () = assert!(maps::KEY_SIZE_MAX <= u16::MAX as u32);
const _: () = assert!(maps::VALUE_SIZE_MAX <= u16::MAX as u32);
const _: () = assert!(maps::update::EXIST <= i16::MAX as i32);

const OPS: [OpSpec; wire::CMD_MAX as usize] = [
    OpSpec {
        cmd: cmd::LOAD,
        doit: true,
        dumpit: false,
    },
    OpSpec {
        cmd: cmd::UNLOAD,
        doit: true,
        dumpit: false,
    },
    OpSpec {
        cmd: cmd::GET,
        doit: true,
        dumpit: true,
    },
    OpSpec {
        cmd: cmd::MAP_INFO,
        doit: true,
        dumpit: true,
    },
    OpSpec {
        cmd: cmd::MAP_GET,
        doit: true,
        dumpit: true,
    },
    OpSpec {
        cmd: cmd::MAP_UPDATE,
        doit: true,
        dumpit: false,
    },
    OpSpec {
        cmd: cmd::MAP_DELETE,
        doit: true,
        dumpit: false,
    },
    OpSpec {
        cmd: cmd::MAP_CLEAR,
        doit: true,
        dumpit: false,
    },
];

/// The registered family.
pub(crate) type Family_ = genl::Registration<WasmnfFamily>;

/// Registers the `wasmnf` family.
pub(crate) fn register(module: &'static ThisModule) -> Result<Family_> {
    genl::Registration::new(
        wire::FAMILY_NAME,
        wire::FAMILY_VERSION.into(),
        &POLICY,
        &OPS,
        module,
    )
}

/// The family's handlers.
pub(crate) struct WasmnfFamily;

/// Fails the request with `err` and an extended-ack message.
pub(crate) fn refuse(req: &mut Request<'_>, err: Error, args: fmt::Arguments<'_>) -> Error {
    req.set_error(args);
    err
}

pub(crate) fn u32_of(p: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}

fn u64_of(p: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(p.get(..8)?.try_into().ok()?))
}

/// The string of a `NUL_STRING` attribute: the bytes before its NUL, if
/// only NULs (padding) follow it. The policy guarantees a NUL within the
/// length it allows but lets any bytes follow: "web\0junk" must not
/// silently name "web".
pub(crate) fn nul_terminated(raw: &[u8]) -> Option<&[u8]> {
    let (s, rest) = raw.split_at(raw.iter().position(|b| *b == 0).unwrap_or(raw.len()));
    rest.iter().all(|b| *b == 0).then_some(s)
}

pub(crate) fn name_of(req: &mut Request<'_>) -> Result<Name> {
    let Some(raw) = req.attr(attr::NAME) else {
        return Err(refuse(req, EINVAL, format_args!("missing attribute NAME")));
    };
    nul_terminated(raw).and_then(Name::new).ok_or_else(|| {
        refuse(
            req,
            EINVAL,
            format_args!("NAME must be 1-31 characters of [A-Za-z0-9_.-]"),
        )
    })
}

pub(crate) fn registry_error(req: &mut Request<'_>, name: &Name, e: RegistryError) -> Error {
    match e {
        RegistryError::Exists => refuse(
            req,
            EEXIST,
            format_args!("a filter named {} is already loaded", name.as_str()),
        ),
        RegistryError::NotFound => refuse(
            req,
            ENOENT,
            format_args!("no filter named {}", name.as_str()),
        ),
        RegistryError::Engine(e) => refuse(req, e.errno(), format_args!("{}", e.message())),
        RegistryError::NoMemory => refuse(req, ENOMEM, format_args!("out of memory")),
        RegistryError::Hook(err) => {
            refuse(req, err, format_args!("netfilter hook registration failed"))
        }
        RegistryError::Stack(err) => refuse(req, err, format_args!("no memory for the load stack")),
        RegistryError::Prefill(err) => err,
        // At most 79 bytes reach the user (extack's formatted buffer): the
        // name first.
        RegistryError::NetMapMemory { needed, limit, map } => refuse(
            req,
            E2BIG,
            format_args!(
                "map `{}`: namespace maps {needed} > map_memory_max {limit} bytes",
                map.as_str()
            ),
        ),
    }
}

fn load(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let Some(hook) = req.attr(attr::HOOK).and_then(u32_of) else {
        return Err(refuse(req, EINVAL, format_args!("missing attribute HOOK")));
    };
    let Some(hook) = HookPoint::from_number(hook) else {
        return Err(refuse(req, EINVAL, format_args!("unknown hook {hook}")));
    };
    let family_n = req
        .attr(attr::FAMILY)
        .and_then(u32_of)
        .unwrap_or(wire::family::INET);
    let Some(family) = Family::from_number(family_n) else {
        return Err(refuse(
            req,
            EINVAL,
            format_args!("FAMILY {family_n} is not 1 (inet), 2 (ipv4) or 10 (ipv6)"),
        ));
    };
    let priority = req
        .attr(attr::PRIORITY)
        .and_then(u32_of)
        .map_or(0, |v| v as i32);
    let fuel = req
        .attr(attr::FUEL)
        .and_then(u64_of)
        .unwrap_or(wire::FUEL_DEFAULT);
    let memory_pages = req
        .attr(attr::MEMORY_PAGES)
        .and_then(u32_of)
        .unwrap_or(wire::MEMORY_PAGES_DEFAULT);
    let fail_closed = req
        .attr(attr::ON_ERROR)
        .is_some_and(|p| p.first() == Some(&wire::on_error::DROP));
    let replace = req.attr(attr::REPLACE).is_some();
    let map_memory = req.attr(attr::MAP_MEMORY).and_then(u64_of).unwrap_or(0);
    let keep_maps = req.attr(attr::RESET_MAPS).is_none();
    let mut config = KVec::new();
    if let Some(c) = req.attr(attr::CONFIG) {
        config.extend_from_slice(c, crate::gfp_request())?;
    }

    // Assemble the chunks, in message order, bounded by the engine's limit.
    let mut total = 0usize;
    for (t, p) in req.attrs() {
        if t == attr::WASM_CHUNK {
            total = total.saturating_add(p.len());
        }
    }
    if total == 0 {
        return Err(refuse(
            req,
            EINVAL,
            format_args!("missing attribute WASM_CHUNK"),
        ));
    }
    if total > wire::MODULE_MAX {
        return Err(refuse(
            req,
            E2BIG,
            format_args!("module larger than {} bytes", wire::MODULE_MAX),
        ));
    }
    let mut wasm = KVVec::with_capacity(total, crate::gfp_request())?;
    for (t, p) in req.attrs() {
        if t == attr::WASM_CHUNK {
            wasm.extend_from_slice(p, crate::gfp_request())?;
        }
    }

    let settings = Settings {
        name,
        hook,
        family,
        priority,
        fuel,
        memory_pages,
        fail_closed,
        config,
        wasm_size: total as u32,
        map_memory,
    };
    let net = req.net();
    let result = registry::with(|r| {
        r.load(net, settings, &wasm, replace, keep_maps, |rt| {
            crate::mapctl::prefill(req, rt.filter())
        })
    })
    .ok_or(ENODEV)?;
    let kept = result.map_err(|e| registry_error(req, &name, e))?;
    pr_info!(
        "filter {} loaded ({} bytes, hook {}, family {}, priority {}, {} maps kept)\n",
        name.as_str(),
        total,
        hook.number(),
        family.number(),
        priority,
        kept
    );
    Ok(())
}

fn unload(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let net = req.net();
    let result = registry::with(|r| r.unload(net, &name)).ok_or(ENODEV)?;
    result.map_err(|e| registry_error(req, &name, e))?;
    pr_info!("filter {} unloaded\n", name.as_str());
    Ok(())
}

fn put_counters(w: &mut Writer, c: &Counters) -> Result {
    w.nest(attr::STATS, |w| {
        for k in Counter::ALL {
            w.put_u64(k.attr(), c.get(k), wire::STATS_PAD)?;
        }
        Ok(())
    })
}

/// Writes one filter's GET attributes.
fn put_filter(w: &mut Writer, f: &FilterInfo<'_>) -> Result {
    let s = f.settings;
    w.put_cstr(attr::NAME, s.name.as_cstr())?;
    w.put_u32(attr::HOOK, s.hook.number())?;
    w.put_u32(attr::FAMILY, s.family.number())?;
    w.put_s32(attr::PRIORITY, s.priority)?;
    w.put_u64(attr::FUEL, s.fuel, attr::PAD)?;
    w.put_u32(attr::MEMORY_PAGES, s.memory_pages)?;
    w.put_u8(attr::ON_ERROR, u8::from(s.fail_closed))?;
    if !s.config.is_empty() {
        w.put_bytes(attr::CONFIG, &s.config)?;
    }
    w.put_u32(attr::WASM_SIZE, s.wasm_size)?;
    w.put_u32(attr::INSTANCES, f.instances as u32)?;
    w.put_u32(attr::ABI_VERSION, crate::engine_ffi::abi_version())?;
    w.put_u32(attr::MAP_COUNT, f.maps)?;
    w.put_u64(attr::MAP_BYTES, f.map_bytes, attr::PAD)?;
    w.put_u64(
        attr::MAP_MEMORY,
        match s.map_memory {
            0 => maps::MEMORY_DEFAULT,
            m => m,
        },
        attr::PAD,
    )?;
    put_counters(w, &f.counters)
}

/// Room for one filter's GET attributes.
fn reply_size(f: &FilterInfo<'_>) -> usize {
    600 + f.settings.config.len()
}

fn get(req: &mut Request<'_>) -> Result {
    let name = name_of(req)?;
    let net = req.net();
    let built = registry::with(|r| {
        let f = r.get(net, &name)?;
        let mut reply = req
            .reply(cmd::GET, reply_size(&f))
            .map_err(|_| RegistryError::NoMemory)?;
        put_filter(reply.writer(), &f).map_err(|_| RegistryError::NoMemory)?;
        Ok(reply)
    })
    .ok_or(ENODEV)?;
    let reply = built.map_err(|e| registry_error(req, &name, e))?;
    req.send(reply)
}

fn dump(d: &mut Dump<'_>) -> Result {
    let skip = usize::try_from(*d.position()).unwrap_or(usize::MAX);
    let net = d.net();
    registry::with(|r| {
        d.set_generation(r.generation());
        let mut done = 0usize;
        for f in r.list(net, skip) {
            let added = match d.begin(cmd::GET) {
                Some(mut entry) => {
                    let ok = put_filter(entry.writer(), &f).is_ok();
                    if ok {
                        entry.end();
                    }
                    ok
                }
                None => false,
            };
            if !added {
                // The round's buffer is full: the entry was cancelled, and
                // the next round resumes here. An entry too large for an
                // empty buffer is an error rather than a silent stop.
                if done == 0 {
                    return Err(genl::emsgsize());
                }
                break;
            }
            done += 1;
        }
        *d.position() = (skip + done) as _;
        Ok(())
    })
    .ok_or(ENODEV)?
}

impl genl::Handler for WasmnfFamily {
    fn doit(c: u8, req: &mut Request<'_>) -> Result {
        match c {
            cmd::LOAD => load(req),
            cmd::UNLOAD => unload(req),
            cmd::GET => get(req),
            cmd::MAP_INFO => crate::mapctl::info(req),
            cmd::MAP_GET => crate::mapctl::get(req),
            cmd::MAP_UPDATE => crate::mapctl::update(req),
            cmd::MAP_DELETE => crate::mapctl::delete(req),
            cmd::MAP_CLEAR => crate::mapctl::clear(req),
            _ => Err(EINVAL),
        }
    }

    fn dumpit(c: u8, d: &mut Dump<'_>) -> Result {
        match c {
            cmd::GET => dump(d),
            cmd::MAP_INFO => crate::mapctl::info_dump(d),
            cmd::MAP_GET => crate::mapctl::dump(d),
            _ => Err(EINVAL),
        }
    }
}
