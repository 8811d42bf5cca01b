//! `nlraw fuzz SECONDS SEED [SENDERS]`: a bounded fuzzer of the family's
//! control plane, run in the guest by tests/vm/nl_fuzz.sh.
//!
//! For SECONDS seconds, SENDERS threads (default 4), each with its own
//! socket and its own deterministic PRNG derived from SEED, send generated
//! and mutated messages: every command of the family and unknown ones,
//! random attribute sets (known types with right and wrong lengths and
//! values, unknown types, `NLA_F_NESTED` anywhere, nests several levels
//! deep, empty, truncated and oversized attributes, stray padding), random
//! header flags, wrong genl versions, broken `nlmsg_len`s, several messages
//! in one send, nlctrl queries about the family (its policy, its ops), and
//! LOADs of small valid filter modules, whole or mutated, split into random
//! `WASM_CHUNK`s, under a few names so that LOAD, replace, GET, UNLOAD and
//! dumps meet. With two senders or more, the last one works in a network
//! namespace of its own and moves to a new one every few hundred messages,
//! so namespaces die with filters loaded while the others send.
//!
//! Every reply is read (`MSG_DONTWAIT`, until the socket is empty; the
//! kernel handles a request inside `send`), nothing blocks on a read. At
//! the end it prints one line:
//!
//!   nlraw: fuzz: N messages from K senders in S s, A acks, L loads ok,
//!   R replies, D dumps, errnos: EINVAL=..,ENOENT=..
//!
//! and a second line with local details (send and receive errors,
//! namespaces, replies it could not parse). Exit 0; 1 on a local failure
//! (socket, family not found) or when a sender is still inside a request
//! long after the end (a request that never returns: a kernel hang).
//!
//! `NLRAW_FUZZ_TRACE=1` prints every message sent, in hex, to reproduce a
//! crash from the console log.

use super::{
    attr, cmd, consts, errno_name, recv, send, CInt, Sock, CTRL_ATTR_FAMILY_ID,
    CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, GENL_ID_CTRL, NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR,
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use std::collections::BTreeMap;
use std::process::exit;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

extern "C" {
    fn close(fd: CInt) -> CInt;
    fn unshare(flags: CInt) -> CInt;
}

const MSG_DONTWAIT: CInt = 0x40;
const CLONE_NEWNET: CInt = 0x4000_0000;
const EINTR: i32 = 4;
const EAGAIN: i32 = 11;
const ENOBUFS: i32 = 105;

const NLA_F_NET_BYTEORDER: u16 = 0x4000;
const CTRL_CMD_GETPOLICY: u8 = 10;
const CTRL_ATTR_OP: u16 = 10;

/// Names the valid-looking loads use: few, so that loads, replaces, GETs
/// and UNLOADs of the senders meet.
const NAMES: &[&str] = &["f0", "f1", "f2", "f3"];
/// Names that must be refused (or, for the 31-byte one, just pass).
const ODD_NAMES: &[&[u8]] = &[
    b"",
    b"a/b",
    b"f0 ",
    b"abcdefghijklmnopqrstuvwxyz.-_01",
    b"abcdefghijklmnopqrstuvwxyz.-_012",
    b"\xff\xfe",
];

/// Valid filter modules, hand-encoded: `filter(i32) -> i32` returning 1
/// (accept), alone, with an `init` that succeeds or fails, with a memory.
const TINY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
    0x03, 0x02, 0x01, 0x00, // function: one of type 0
    0x07, 0x0a, 0x01, 0x06, b'f', b'i', b'l', b't', b'e', b'r', 0x00, 0x00, // export "filter"
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x01, 0x0b, // code: i32.const 1
];
const WITH_INIT_OK: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x0a, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01,
    0x7f, // (i32)->i32, ()->i32
    0x03, 0x03, 0x02, 0x00, 0x01, // function: types 0 and 1
    0x07, 0x11, 0x02, 0x06, b'f', b'i', b'l', b't', b'e', b'r', 0x00, 0x00, // export "filter"
    0x04, b'i', b'n', b'i', b't', 0x00, 0x01, // export "init"
    0x0a, 0x0b, 0x02, 0x04, 0x00, 0x41, 0x01, 0x0b, // filter: i32.const 1
    0x04, 0x00, 0x41, 0x00, 0x0b, // init: i32.const 0 (ready)
];
/// `WITH_INIT_OK` with `init` returning 7: fails the load.
const WITH_INIT_FAIL: &[u8] = &with_init_result(7);

const fn with_init_result(code: u8) -> [u8; WITH_INIT_OK.len()] {
    let mut m = [0u8; WITH_INIT_OK.len()];
    let mut i = 0;
    while i < m.len() {
        m[i] = WITH_INIT_OK[i];
        i += 1;
    }
    // `init`'s body ends `i32.const <code>, end`.
    m[m.len() - 2] = code;
    m
}
const WITH_MEMORY: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
    0x03, 0x02, 0x01, 0x00, // function: one of type 0
    0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page
    0x07, 0x13, 0x02, 0x06, b'f', b'i', b'l', b't', b'e', b'r', 0x00, 0x00, // export "filter"
    0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, // export "memory"
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x01, 0x0b, // code: i32.const 1
];
const MODULES: &[&[u8]] = &[TINY, WITH_INIT_OK, WITH_INIT_FAIL, WITH_MEMORY];

/// Stop adding attributes to a message past this size (the error echo of a
/// request must fit the receive buffer).
const MSG_SOFT_MAX: usize = 192 << 10;
/// Messages a namespace sender sends before it moves to a new namespace.
const NETNS_EVERY: u64 = 300;

/// splitmix64: small, deterministic, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ (stream + 1).wrapping_mul(0xd1b5_4a32_d192_ed03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `0..n` (0 for n = 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A payload length: mostly short, sometimes around the 65000-byte
    /// chunk limit.
    fn len(&mut self) -> usize {
        match self.below(40) {
            0 => consts::CHUNK_MAX - 2 + self.below(4),
            1 => 65531 - self.below(3),
            2..=5 => self.below(2000),
            _ => self.below(24),
        }
    }
}

fn pad(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// Appends an honest attribute (payload at most 65531 bytes).
fn put(b: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = (4 + payload.len()).min(0xffff) as u16;
    b.extend_from_slice(&len.to_ne_bytes());
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(&payload[..payload.len().min(65531)]);
    pad(b);
}

fn u32_value(r: &mut Rng) -> u32 {
    match r.below(3) {
        0 => r.next() as u32,
        _ => r.pick(&[
            0,
            1,
            2,
            3,
            4,
            5,
            9,
            10,
            16,
            255,
            256,
            257,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
        ]),
    }
}

fn u64_value(r: &mut Rng) -> u64 {
    match r.below(3) {
        0 => r.next(),
        _ => r.pick(&[
            0,
            1,
            1000,
            100_000,
            10_000_000,
            10_000_001,
            u64::MAX,
            1 << 32,
        ]),
    }
}

/// A NAME payload: mostly one of [`NAMES`] with its NUL.
fn name_bytes(r: &mut Rng) -> Vec<u8> {
    let mut b = if r.one_in(8) {
        r.pick(ODD_NAMES).to_vec()
    } else {
        r.pick(NAMES).as_bytes().to_vec()
    };
    match r.below(16) {
        0 => {}                              // no NUL
        1 => b.extend_from_slice(b"\0\0\0"), // NUL padding
        2 => b.extend_from_slice(b"\0junk"),
        _ => b.push(0),
    }
    b
}

fn config_bytes(r: &mut Rng) -> Vec<u8> {
    match r.below(5) {
        0 => Vec::new(),
        1 => b"port=8080".to_vec(),
        2 => b"port=80\nmode=x\n".to_vec(),
        3 => b"=\n=\n\0\0=".to_vec(),
        _ => {
            let n = r.len();
            r.bytes(n)
        }
    }
}

/// Changes a module in 1-3 ways: bytes overwritten, inserted, removed,
/// truncated, junk appended, duplicated.
fn mutate(r: &mut Rng, m: &mut Vec<u8>) {
    for _ in 0..1 + r.below(3) {
        if m.is_empty() {
            m.push(0);
        }
        let at = r.below(m.len());
        match r.below(6) {
            0 | 1 => m[at] = r.next() as u8,
            2 => {
                let n = 1 + r.below(8);
                let junk = r.bytes(n);
                m.splice(at..at, junk);
            }
            3 => {
                let end = (at + 1 + r.below(8)).min(m.len());
                m.drain(at..end);
            }
            4 => m.truncate(at),
            _ => {
                let tail = m[at..].to_vec();
                m.extend_from_slice(&tail);
            }
        }
    }
}

/// Map names the fuzzer uses: the one [`with_maps`] declares, and others.
const MAP_NAMES: &[&[u8]] = &[b"m0", b"m1", b"m0\0", b"m0\0junk", b"a-b", b""];

/// [`TINY`] with a `wasmnf.maps` section: an 8-entry hash `m0` (u32 keys,
/// u64 values) and a 16-entry IPv4 lpm `m1` (8-byte keys, u32 values).
pub(crate) fn with_maps() -> Vec<u8> {
    use crate::contract::maps::{kind, ty, Decl};
    let name = b"wasmnf.maps";
    let records = [
        Decl::new(0, "m0", kind::HASH, ty::U32, 4, ty::U64, 8, 8).encode(),
        Decl::new(1, "m1", kind::LPM, ty::IPV4, 8, ty::U32, 4, 16).encode(),
    ]
    .concat();
    let mut m = TINY.to_vec();
    m.push(0); // custom section, its size in LEB128
    let mut size = 1 + name.len() + records.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            m.push(byte);
            break;
        }
        m.push(byte | 0x80);
    }
    m.push(name.len() as u8);
    m.extend_from_slice(name);
    m.extend_from_slice(&records);
    m
}

/// A module: one of [`MODULES`] or [`with_maps`], sometimes mutated.
fn module(r: &mut Rng) -> Vec<u8> {
    let mut m = if r.one_in(4) {
        with_maps()
    } else {
        r.pick(MODULES).to_vec()
    };
    if r.one_in(3) {
        mutate(r, &mut m);
    }
    m
}

/// A payload for attribute `ty` (without flags): right type and length
/// with right and wrong values, or a wrong length.
fn value(r: &mut Rng, ty: u16) -> Vec<u8> {
    if r.one_in(4) {
        let n = if r.one_in(2) { r.below(13) } else { r.len() };
        return r.bytes(n);
    }
    match ty {
        attr::NAME => name_bytes(r),
        attr::HOOK
        | attr::FAMILY
        | attr::PRIORITY
        | attr::MEMORY_PAGES
        | attr::WASM_SIZE
        | attr::INSTANCES
        | attr::ABI_VERSION => u32_value(r).to_ne_bytes().to_vec(),
        attr::FUEL => u64_value(r).to_ne_bytes().to_vec(),
        attr::ON_ERROR => vec![r.pick(&[0, 1, 2, 255])],
        attr::CONFIG => config_bytes(r),
        attr::WASM_CHUNK => {
            let m = module(r);
            let a = r.below(m.len());
            let b = a + r.below(m.len() - a + 1);
            m[a..b].to_vec()
        }
        attr::REPLACE | attr::PAD | attr::RESET_MAPS => Vec::new(),
        attr::STATS => {
            let mut b = Vec::new();
            for _ in 0..r.below(9) {
                put(&mut b, r.below(10) as u16, &u64_value(r).to_ne_bytes());
            }
            b
        }
        _ => {
            let n = r.below(13);
            r.bytes(n)
        }
    }
}

/// Appends one random attribute at nesting `depth`.
fn random_attr(r: &mut Rng, depth: u32, out: &mut Vec<u8>) {
    let base = match r.below(12) {
        0 => 0,
        1 => consts::ATTR_MAX + 1 + r.below(4) as u16,
        2 => r.next() as u16 & 0x3fff,
        _ => 1 + r.below(consts::ATTR_MAX as usize) as u16,
    };
    let nest = depth < 6 && r.one_in(5);
    let mut ty = base;
    if nest || r.one_in(10) {
        ty |= NLA_F_NESTED;
    }
    if r.one_in(25) {
        ty |= NLA_F_NET_BYTEORDER;
    }
    let payload = if nest {
        let mut inner = Vec::new();
        random_attrs(r, depth + 1, &mut inner);
        inner
    } else {
        value(r, base)
    };
    let payload = &payload[..payload.len().min(65531)];
    let honest = 4 + payload.len();
    let nla_len = match r.below(20) {
        0 => 0,
        1 => r.below(4),
        2 => honest + 1 + r.below(64),
        3 => honest.saturating_sub(1 + r.below(4)),
        4 => r.below(0x10000),
        _ => honest,
    };
    out.extend_from_slice(&(nla_len.min(0xffff) as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(payload);
    match r.below(25) {
        0 => {} // no padding
        1 => {
            let n = 1 + r.below(8);
            out.extend(r.bytes(n));
        }
        _ => pad(out),
    }
}

/// Appends a random attribute set at nesting `depth`.
fn random_attrs(r: &mut Rng, depth: u32, out: &mut Vec<u8>) {
    let n = r.below(if depth == 0 { 10 } else { 5 });
    for _ in 0..n {
        if out.len() > MSG_SOFT_MAX {
            break;
        }
        random_attr(r, depth, out);
    }
    if r.one_in(20) {
        // A truncated attribute header.
        let n = 1 + r.below(3);
        out.extend(r.bytes(n));
    }
}

/// The attributes of a plausible LOAD: a module in random chunks, a name
/// of [`NAMES`], a hook, some optional settings, in random order.
fn load_attrs(r: &mut Rng) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let one = |ty: u16, payload: &[u8]| {
        let mut b = Vec::new();
        put(&mut b, ty, payload);
        b
    };
    if !r.one_in(30) {
        parts.push(one(attr::NAME, &name_bytes(r)));
    }
    if !r.one_in(30) {
        let hook = if r.one_in(20) {
            u32_value(r)
        } else {
            r.below(5) as u32
        };
        parts.push(one(attr::HOOK, &hook.to_ne_bytes()));
    }
    if r.one_in(3) {
        let f = if r.one_in(10) {
            u32_value(r)
        } else {
            r.pick(&[1, 2, 10])
        };
        parts.push(one(attr::FAMILY, &f.to_ne_bytes()));
    }
    if r.one_in(4) {
        let any = r.next() as i32;
        let p = r.pick(&[-300i32, -1, 0, 1, 100, i32::MIN, i32::MAX, any]);
        parts.push(one(attr::PRIORITY, &p.to_ne_bytes()));
    }
    if r.one_in(4) {
        let f = 1 + r.below(10_000_000) as u64;
        parts.push(one(attr::FUEL, &f.to_ne_bytes()));
    }
    if r.one_in(4) {
        let p = 1 + if r.one_in(10) {
            r.below(256)
        } else {
            r.below(16)
        } as u32;
        parts.push(one(attr::MEMORY_PAGES, &p.to_ne_bytes()));
    }
    if r.one_in(4) {
        parts.push(one(attr::ON_ERROR, &[r.below(2) as u8]));
    }
    if r.one_in(4) {
        parts.push(one(attr::CONFIG, &config_bytes(r)));
    }
    if r.one_in(3) {
        parts.push(one(attr::REPLACE, b""));
    }
    if r.one_in(10) {
        let mut b = Vec::new();
        random_attr(r, 0, &mut b);
        parts.push(b);
    }
    if r.one_in(6) {
        parts.push(one(attr::RESET_MAPS, b""));
    }
    if r.one_in(5) {
        // Entries to fill the maps with at load: a MAP, then pairs.
        let mut b = Vec::new();
        let mut m = r.pick(MAP_NAMES).to_vec();
        m.push(0);
        put(&mut b, attr::MAP, &m);
        for _ in 0..r.below(12) {
            let n = r.pick(&[4usize, 8, 3]);
            let k = r.bytes(n);
            put(&mut b, attr::KEY, &k);
            if !r.one_in(8) {
                let n = r.pick(&[8usize, 4, 2]);
                let v = r.bytes(n);
                put(&mut b, attr::VALUE, &v);
            }
        }
        parts.push(b);
    }
    // The module's chunks, in order, with the other attributes between them.
    let m = module(r);
    let mut chunks = Vec::new();
    let fixed = match r.below(3) {
        0 => m.len().max(1),
        1 => 1 + r.below(m.len().max(1)),
        _ => 0, // a random size for each chunk
    };
    let mut at = 0;
    while at < m.len() {
        let n = if fixed > 0 {
            fixed
        } else {
            1 + r.below(m.len() - at)
        };
        let end = (at + n).min(m.len());
        chunks.push(one(attr::WASM_CHUNK, &m[at..end]));
        at = end;
    }
    for p in parts {
        let i = r.below(chunks.len() + 1);
        chunks.insert(i, p);
    }
    chunks.concat()
}

/// The body of a map command: NAME, MAP, then keys and values of the
/// declared sizes or others, flags, sometimes random attributes.
fn map_attrs(r: &mut Rng) -> Vec<u8> {
    let mut a = Vec::new();
    put(&mut a, attr::NAME, &name_bytes(r));
    if !r.one_in(10) {
        let mut m = r.pick(MAP_NAMES).to_vec();
        if !m.contains(&0) && !r.one_in(8) {
            m.push(0);
        }
        put(&mut a, attr::MAP, &m);
    }
    let most = if r.one_in(20) { 5000 } else { 6 };
    for _ in 0..r.below(most) {
        if a.len() > MSG_SOFT_MAX {
            break;
        }
        let n = r.pick(&[4usize, 8, 3, 1, 64]);
        let mut k = r.bytes(n);
        if n == 8 && r.one_in(2) {
            // An lpm key: a prefix length, sometimes past 32.
            k[..4].copy_from_slice(&(r.below(40) as u32).to_le_bytes());
        }
        put(&mut a, attr::KEY, &k);
        if !r.one_in(6) {
            let n = r.pick(&[8usize, 4, 7, 1024, 1025]);
            put(&mut a, attr::VALUE, &r.bytes(n));
        }
    }
    if r.one_in(3) {
        put(
            &mut a,
            attr::UPDATE_FLAGS,
            &(r.below(4) as u32).to_ne_bytes(),
        );
    }
    if r.one_in(6) {
        random_attrs(r, 0, &mut a);
    }
    a
}

/// A NAME from the shared set, sometimes followed by random attributes (the
/// body of UNLOAD and GET).
fn name_attrs(r: &mut Rng) -> Vec<u8> {
    let mut a = Vec::new();
    put(&mut a, attr::NAME, &name_bytes(r));
    if r.one_in(6) {
        random_attrs(r, 0, &mut a);
    }
    a
}

/// A netlink message: its bytes and whether it is a LOAD to the family
/// (its ack counts as a load that succeeded).
fn message(r: &mut Rng, fam: u16, seq: u32) -> (Vec<u8>, bool) {
    let req = NLM_F_REQUEST | if r.one_in(8) { 0 } else { NLM_F_ACK };
    let mut ty = fam;
    let mut version = consts::FAMILY_VERSION;
    let (command, mut flags, attrs) = match r.below(100) {
        0..=29 => (cmd::LOAD, req, load_attrs(r)),
        30..=39 => (cmd::UNLOAD, req, name_attrs(r)),
        40..=43 => (cmd::GET, req, name_attrs(r)),
        44..=51 => {
            let c = r.pick(&[
                cmd::MAP_INFO,
                cmd::MAP_GET,
                cmd::MAP_UPDATE,
                cmd::MAP_UPDATE,
                cmd::MAP_DELETE,
                cmd::MAP_CLEAR,
            ]);
            let dump = matches!(c, cmd::MAP_INFO | cmd::MAP_GET) && r.one_in(2);
            (c, if dump { req | NLM_F_DUMP } else { req }, map_attrs(r))
        }
        52..=55 => {
            let mut a = Vec::new();
            if r.one_in(4) {
                random_attrs(r, 0, &mut a);
            }
            (cmd::GET, req | NLM_F_DUMP, a)
        }
        56..=59 => {
            // nlctrl about the family: its ops and its policy (built by
            // the module), or every family.
            ty = GENL_ID_CTRL;
            version = 2;
            let mut a = Vec::new();
            if r.one_in(2) {
                put(&mut a, CTRL_ATTR_FAMILY_ID, &fam.to_ne_bytes());
            } else {
                let mut n = consts::FAMILY_NAME_STR.as_bytes().to_vec();
                n.push(0);
                put(&mut a, CTRL_ATTR_FAMILY_NAME, &n);
            }
            match r.below(3) {
                0 => (CTRL_CMD_GETFAMILY, req, a),
                1 => (CTRL_CMD_GETFAMILY, req | NLM_F_DUMP, Vec::new()),
                _ => {
                    if r.one_in(2) {
                        put(&mut a, CTRL_ATTR_OP, &(r.below(6) as u32).to_ne_bytes());
                    }
                    (CTRL_CMD_GETPOLICY, req | NLM_F_DUMP, a)
                }
            }
        }
        _ => {
            let c = match r.below(4) {
                0 => r.next() as u8,
                _ => r.below(consts::CMD_MAX as usize + 2) as u8,
            };
            let f = if r.one_in(5) { req | NLM_F_DUMP } else { req };
            let mut a = Vec::new();
            random_attrs(r, 0, &mut a);
            (c, f, a)
        }
    };
    if r.one_in(6) {
        // ECHO, ROOT/MATCH/ATOMIC (DUMP's bits, or REPLACE/EXCL/CREATE on
        // a do), APPEND, reply-only bits, or anything.
        flags |= match r.below(8) {
            0 => r.next() as u16,
            _ => r.pick(&[0x2, 0x8, 0x10, 0x20, 0x100, 0x200, 0x400, 0x800]),
        };
    }
    if r.one_in(40) {
        flags &= !NLM_F_REQUEST;
    }
    if r.one_in(10) {
        version = r.pick(&[0, 2, 3, 255]);
    }
    let mut b = vec![0u8; 20];
    b[4..6].copy_from_slice(&ty.to_ne_bytes());
    b[6..8].copy_from_slice(&flags.to_ne_bytes());
    b[8..12].copy_from_slice(&seq.to_ne_bytes());
    b[16] = command;
    b[17] = version;
    if r.one_in(30) {
        b[18..20].copy_from_slice(&(r.next() as u16).to_ne_bytes());
    }
    b.extend_from_slice(&attrs);
    if r.one_in(12) && b.len() > 16 {
        // Bytes overwritten after the netlink header.
        for _ in 0..1 + r.below(4) {
            let at = 16 + r.below(b.len() - 16);
            b[at] = r.next() as u8;
        }
    }
    let real = b.len();
    let nlmsg_len = match r.below(25) {
        0 => r.pick(&[0, 4, 15, 16, 17, 19]),
        1 => real.saturating_sub(1 + r.below(8)),
        2 => real + 1 + r.below(100),
        3 => r.next() as u32 as usize,
        _ => real,
    };
    b[0..4].copy_from_slice(&(nlmsg_len as u32).to_ne_bytes());
    if r.one_in(40) {
        // A datagram cut short (to nothing, the send fails with ENODATA).
        b.truncate(r.below(real));
    }
    let is_load = ty == fam && command == cmd::LOAD;
    (b, is_load)
}

/// What one sender counted.
#[derive(Default)]
struct Stats {
    messages: u64,
    acks: u64,
    loads_ok: u64,
    replies: u64,
    dumps: u64,
    errnos: BTreeMap<i32, u64>,
    send_errors: BTreeMap<i32, u64>,
    recv_errors: BTreeMap<i32, u64>,
    bad_replies: u64,
    namespaces: u64,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.messages += o.messages;
        self.acks += o.acks;
        self.loads_ok += o.loads_ok;
        self.replies += o.replies;
        self.dumps += o.dumps;
        self.bad_replies += o.bad_replies;
        self.namespaces += o.namespaces;
        for (mine, theirs) in [
            (&mut self.errnos, o.errnos),
            (&mut self.send_errors, o.send_errors),
            (&mut self.recv_errors, o.recv_errors),
        ] {
            for (e, n) in theirs {
                *mine.entry(e).or_default() += n;
            }
        }
    }
}

fn errno_label(e: i32) -> String {
    let name = match e {
        4 => "EINTR",
        11 => "EAGAIN",
        14 => "EFAULT",
        16 => "EBUSY",
        19 => "ENODEV",
        61 => "ENODATA",
        75 => "EOVERFLOW",
        111 => "ECONNREFUSED",
        524 => "ENOTSUPP",
        _ => errno_name(e),
    };
    if name == "E?" {
        format!("E{e}")
    } else {
        name.to_string()
    }
}

fn counts(m: &BTreeMap<i32, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = m
        .iter()
        .map(|(e, n)| format!("{}={n}", errno_label(*e)))
        .collect();
    v.join(",")
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Counts the messages of one datagram from the kernel.
fn take(mut rest: &[u8], st: &mut Stats, loads: &mut Vec<u32>) {
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
        let seq = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
        if len < 16 || len > rest.len() {
            st.bad_replies += 1;
            return;
        }
        let m = &rest[..len];
        rest = &rest[((len + 3) & !3).min(rest.len())..];
        let err = m
            .get(16..20)
            .map(|b| -i32::from_ne_bytes(b.try_into().unwrap()));
        match (ty, err) {
            (NLMSG_ERROR, Some(0)) => {
                st.acks += 1;
                if let Some(i) = loads.iter().position(|s| *s == seq) {
                    loads.swap_remove(i);
                    st.loads_ok += 1;
                }
            }
            (NLMSG_ERROR, Some(e)) => *st.errnos.entry(e).or_default() += 1,
            (NLMSG_DONE, Some(e)) => {
                st.dumps += 1;
                if e != 0 {
                    *st.errnos.entry(e).or_default() += 1;
                }
            }
            (NLMSG_ERROR | NLMSG_DONE, None) => st.bad_replies += 1,
            _ => st.replies += 1,
        }
    }
}

/// Reads everything queued on the socket, without waiting.
fn drain(fd: CInt, buf: &mut [u8], st: &mut Stats, loads: &mut Vec<u32>) {
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { recv(fd, buf.as_mut_ptr().cast(), buf.len(), MSG_DONTWAIT) };
        if n < 0 {
            match last_errno() {
                EINTR => continue,
                EAGAIN => break,
                e => {
                    *st.recv_errors.entry(e).or_default() += 1;
                    if e == ENOBUFS {
                        // Replies were lost (the receive buffer overran);
                        // the socket goes on.
                        continue;
                    }
                    break;
                }
            }
        }
        if n == 0 {
            break;
        }
        take(&buf[..n as usize], st, loads);
    }
}

/// One sender: until `deadline`, generate, send, read what came back.
fn sender(i: u64, seed: u64, fam: u16, deadline: Instant, own_netns: bool, trace: bool) -> Stats {
    let mut r = Rng::new(seed, i);
    let mut st = Stats::default();
    let mut netns = own_netns;
    let new_sock = |netns: &mut bool, st: &mut Stats, r: &mut Rng| {
        if *netns {
            // SAFETY: plain syscall; it moves only this thread to a new
            // network namespace.
            if unsafe { unshare(CLONE_NEWNET) } == 0 {
                st.namespaces += 1;
            } else {
                println!(
                    "nlraw: fuzz: sender {i}: no network namespace of its own: {}",
                    std::io::Error::last_os_error()
                );
                *netns = false;
            }
        }
        Sock::open(!r.one_in(3))
    };
    let mut sock = new_sock(&mut netns, &mut st, &mut r);
    let mut buf = vec![0u8; 4 << 20];
    let mut loads = Vec::new();
    let mut seq = 1u32;
    let mut since_netns = 0u64;
    while Instant::now() < deadline {
        if netns && since_netns >= NETNS_EVERY {
            // Leave the namespace with whatever this sender loaded there.
            // SAFETY: the socket is ours, closed once.
            unsafe { close(sock.fd) };
            sock = new_sock(&mut netns, &mut st, &mut r);
            since_netns = 0;
        }
        // One message, or a batch of a few in one datagram.
        let batch = if r.one_in(10) { 2 + r.below(3) } else { 1 };
        let mut bytes = Vec::new();
        for _ in 0..batch {
            seq = seq.wrapping_add(1);
            let (m, is_load) = message(&mut r, fam, seq);
            if is_load {
                loads.push(seq);
            }
            bytes.extend_from_slice(&m);
            pad(&mut bytes);
        }
        if trace {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            println!("nlraw: fuzz: sender {i} seq {seq}: {hex}");
        }
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { send(sock.fd, bytes.as_ptr().cast(), bytes.len(), 0) };
        if n < 0 {
            *st.send_errors.entry(last_errno()).or_default() += 1;
        } else {
            st.messages += batch as u64;
        }
        since_netns += batch as u64;
        // Now and then leave the replies queued for a while (a dump in
        // progress meets the next requests).
        if !r.one_in(30) {
            drain(sock.fd, &mut buf, &mut st, &mut loads);
            loads.clear();
        }
    }
    drain(sock.fd, &mut buf, &mut st, &mut loads);
    // SAFETY: the socket is ours, closed once.
    unsafe { close(sock.fd) };
    st
}

pub(crate) fn run(args: &[String]) {
    let usage = || -> ! {
        eprintln!("usage: nlraw fuzz SECONDS SEED [SENDERS]");
        exit(2)
    };
    let (Some(secs), Some(seed)) = (
        args.first().and_then(|s| s.parse::<u64>().ok()),
        args.get(1).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        usage()
    };
    let senders = match args.get(2) {
        None => 4,
        Some(s) => s.parse::<u64>().unwrap_or_else(|_| usage()).clamp(1, 64),
    };
    let trace = std::env::var_os("NLRAW_FUZZ_TRACE").is_some_and(|v| v == "1");
    let fam = {
        let mut s = Sock::open(true);
        let fam = s.family();
        // SAFETY: the socket is ours, closed once.
        unsafe { close(s.fd) };
        fam
    };
    println!("nlraw: fuzz: seed {seed}, {senders} senders, {secs} s, family id {fam}");
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let (tx, rx) = mpsc::channel();
    for i in 0..senders {
        let tx = tx.clone();
        let own_netns = senders >= 2 && i == senders - 1;
        std::thread::Builder::new()
            .name(format!("sender{i}"))
            .spawn(move || {
                let st = sender(i, seed, fam, deadline, own_netns, trace);
                let _ = tx.send(st);
            })
            .unwrap_or_else(|e| {
                println!("nlraw: fuzz: thread: {e}");
                exit(1)
            });
    }
    drop(tx);
    // A request runs inside `send`: a sender still busy long after the
    // deadline is stuck in the kernel.
    let grace = deadline + Duration::from_secs(secs.max(30));
    let mut total = Stats::default();
    for done in 0..senders {
        match rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
            Ok(st) => total.add(st),
            Err(RecvTimeoutError::Timeout) => {
                println!(
                    "nlraw: fuzz: {} of {senders} senders still inside a request {} s after the end (seed {seed}): a kernel hang?",
                    senders - done,
                    secs.max(30)
                );
                exit(1)
            }
            Err(RecvTimeoutError::Disconnected) => {
                println!("nlraw: fuzz: a sender panicked (seed {seed})");
                exit(1)
            }
        }
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "nlraw: fuzz: {} messages from {senders} senders in {t:.1} s, {} acks, {} loads ok, {} replies, {} dumps, errnos: {}",
        total.messages,
        total.acks,
        total.loads_ok,
        total.replies,
        total.dumps,
        counts(&total.errnos)
    );
    println!(
        "nlraw: fuzz: seed {seed}, send errors: {}, receive errors: {}, {} namespaces, {} replies not parsed",
        counts(&total.send_errors),
        counts(&total.recv_errors),
        total.namespaces,
        total.bad_replies
    );
}
