//! Sends hand-built requests to the `wasmnf` generic-netlink family, the
//! ones a correct client never sends, and prints what the kernel answered.
//!
//!   nlraw list                      every case name, one a line
//!   nlraw CASE                      run one malformed-request case
//!   nlraw load-file NAME FILE CHUNK [FAIL_NTH]
//!                                   a valid LOAD (hook input) of FILE split
//!                                   into CHUNK-byte WASM_CHUNKs; with
//!                                   FAIL_NTH, the kernel's fault injection
//!                                   fails this task's FAIL_NTH-th allocation
//!                                   (/proc/thread-self/fail-nth, debug
//!                                   kernel) during the request, and the line
//!                                   ends with `fail-nth=R`: R is 0 when that
//!                                   allocation was failed, otherwise what
//!                                   was left of the count (the request made
//!                                   fewer allocations)
//!   nlraw fuzz SECONDS SEED [SENDERS]
//!                                   fuzz the family for SECONDS (src/fuzz.rs;
//!                                   not a case: `list` does not show it)
//!
//! Prints one line, `nlraw: CASE: errno=NAME(N) msg="..."`: `errno=OK(0)`
//! for an ack, `errno=NOREPLY` when nothing came back within a second (the
//! kernel drops some broken messages silently). Exits 0 when it got an
//! answer or timed out, 1 on a local failure (socket, family not found),
//! 2 on bad usage. The guest test (tests/vm/ctl_malformed.sh) asserts the
//! errno and message of each case.
//!
//! The family's numbers come from the contract crate, included by source
//! (no dependencies): the same definitions the module and the CLI compile.

use std::ffi::c_void;
use std::process::exit;

mod fuzz;

mod contract;
use consts::{attr, cmd};
use contract::genl as consts;

type CInt = i32;
extern "C" {
    fn socket(domain: CInt, ty: CInt, protocol: CInt) -> CInt;
    fn setsockopt(fd: CInt, level: CInt, name: CInt, val: *const c_void, len: u32) -> CInt;
    fn send(fd: CInt, buf: *const c_void, len: usize, flags: CInt) -> isize;
    fn recv(fd: CInt, buf: *mut c_void, len: usize, flags: CInt) -> isize;
}

const AF_NETLINK: CInt = 16;
const SOCK_RAW: CInt = 3;
const SOCK_CLOEXEC: CInt = 0o2000000;
const NETLINK_GENERIC: CInt = 16;
const SOL_SOCKET: CInt = 1;
const SO_RCVBUFFORCE: CInt = 33;
const SO_SNDBUFFORCE: CInt = 32;
const SO_RCVTIMEO: CInt = 20;
const SOL_NETLINK: CInt = 270;
const NETLINK_CAP_ACK: CInt = 10;
const NETLINK_EXT_ACK: CInt = 11;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLA_F_NESTED: u16 = 0x8000;

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// The module's size limit (the engine's): one more byte is refused.
const MODULE_MAX: usize = consts::MODULE_MAX;

/// A netlink message being built: `struct nlmsghdr`, `struct genlmsghdr`,
/// then attributes, all in host byte order.
struct Msg {
    buf: Vec<u8>,
    /// `nlmsg_len` to write instead of the real length.
    len_override: Option<u32>,
}

impl Msg {
    fn new(ty: u16, flags: u16, cmd: u8, version: u8) -> Msg {
        let mut buf = vec![0u8; 20];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf[16] = cmd;
        buf[17] = version;
        Msg {
            buf,
            len_override: None,
        }
    }

    /// An attribute with an honest `nla_len`.
    fn attr(self, ty: u16, payload: &[u8]) -> Msg {
        let len = u16::try_from(4 + payload.len()).expect("attribute too long");
        self.raw_attr(len, ty, payload)
    }

    /// An attribute with any `nla_len`, padded to 4 bytes.
    fn raw_attr(mut self, nla_len: u16, ty: u16, payload: &[u8]) -> Msg {
        self.buf.extend_from_slice(&nla_len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self
    }

    fn u8(self, ty: u16, v: u8) -> Msg {
        self.attr(ty, &[v])
    }
    fn u32(self, ty: u16, v: u32) -> Msg {
        self.attr(ty, &v.to_ne_bytes())
    }
    fn u64(self, ty: u16, v: u64) -> Msg {
        self.attr(ty, &v.to_ne_bytes())
    }
    fn name(self, s: &str) -> Msg {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(attr::NAME, &b)
    }

    /// The module `bytes` in chunks of at most `chunk` bytes.
    fn chunks(mut self, bytes: &[u8], chunk: usize) -> Msg {
        for c in bytes.chunks(chunk) {
            self = self.attr(attr::WASM_CHUNK, c);
        }
        self
    }

    fn with_len(mut self, len: u32) -> Msg {
        self.len_override = Some(len);
        self
    }

    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.len_override.unwrap_or(self.buf.len() as u32);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// What came back for one request.
struct Answer {
    /// 0 for an ack, a positive errno, or `None` for no answer.
    errno: Option<i32>,
    msg: String,
    /// Non-error messages (replies) before the ack.
    replies: usize,
}

struct Sock {
    fd: CInt,
    seq: u32,
}

fn die(what: &str) -> ! {
    println!("nlraw: {what}: {}", std::io::Error::last_os_error());
    exit(1)
}

fn sockopt(fd: CInt, level: CInt, name: CInt, v: &[u8]) -> bool {
    // SAFETY: `v` is valid for reads of its length for the call.
    unsafe { setsockopt(fd, level, name, v.as_ptr().cast(), v.len() as u32) == 0 }
}

impl Sock {
    fn open(cap_ack: bool) -> Sock {
        // SAFETY: plain syscall wrapper.
        let fd = unsafe { socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC) };
        if fd < 0 {
            die("socket");
        }
        let one = 1i32.to_ne_bytes();
        if !sockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one) {
            die("NETLINK_EXT_ACK");
        }
        if cap_ack && !sockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one) {
            die("NETLINK_CAP_ACK");
        }
        // Room for a 1.1 MiB request, and for its echo without CAP_ACK.
        let big = (4i32 << 20).to_ne_bytes();
        if !sockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big) {
            die("SO_SNDBUFFORCE");
        }
        if !sockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big) {
            die("SO_RCVBUFFORCE");
        }
        // struct timeval { 1 s, 0 us } (64-bit).
        let mut tv = [0u8; 16];
        tv[0..8].copy_from_slice(&1i64.to_ne_bytes());
        if !sockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv) {
            die("SO_RCVTIMEO");
        }
        Sock { fd, seq: 1 }
    }

    /// Sends `m` and collects the answer with the same sequence number.
    fn ask(&mut self, m: Msg) -> Answer {
        self.seq += 1;
        let seq = self.seq;
        let bytes = m.finish(seq);
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { send(self.fd, bytes.as_ptr().cast(), bytes.len(), 0) };
        if n < 0 || n as usize != bytes.len() {
            die("send");
        }
        let mut buf = vec![0u8; 8 << 20];
        let mut replies = 0;
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if matches!(e.raw_os_error(), Some(11)) {
                    return Answer {
                        errno: None,
                        msg: String::new(),
                        replies,
                    };
                }
                die("recv");
            }
            let mut rest = &buf[..n as usize];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
                let ty = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
                let flags = u16::from_ne_bytes(rest[6..8].try_into().unwrap());
                let mseq = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
                if len < 16 || len > rest.len() {
                    println!("nlraw: malformed answer from the kernel");
                    exit(1);
                }
                let m = &rest[..len];
                rest = &rest[((len + 3) & !3).min(rest.len())..];
                if mseq != seq {
                    continue;
                }
                match ty {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let err = i32::from_ne_bytes(m[16..20].try_into().unwrap());
                        let msg = ext_ack_msg(ty, flags, m);
                        if ty == NLMSG_DONE && err == 0 {
                            // The end of a dump.
                            return Answer {
                                errno: Some(0),
                                msg,
                                replies,
                            };
                        }
                        return Answer {
                            errno: Some(-err),
                            msg,
                            replies,
                        };
                    }
                    _ => replies += 1,
                }
            }
        }
    }

    /// The `wasmnf` family id, through nlctrl.
    fn family(&mut self) -> u16 {
        self.seq += 1;
        let mut name = consts::FAMILY_NAME_STR.as_bytes().to_vec();
        name.push(0);
        let bytes = Msg::new(GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, 2)
            .attr(CTRL_ATTR_FAMILY_NAME, &name)
            .finish(self.seq);
        // SAFETY: `bytes` is valid for reads of its length.
        if unsafe { send(self.fd, bytes.as_ptr().cast(), bytes.len(), 0) } < 0 {
            die("send");
        }
        let mut buf = vec![0u8; 64 << 10];
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 20 {
            die("recv (nlctrl)");
        }
        let m = &buf[..n as usize];
        let ty = u16::from_ne_bytes(m[4..6].try_into().unwrap());
        if ty == NLMSG_ERROR {
            let err = -i32::from_ne_bytes(m[16..20].try_into().unwrap());
            println!(
                "nlraw: family {} not found: errno {err}",
                consts::FAMILY_NAME_STR
            );
            exit(1);
        }
        for (t, p) in attrs(&m[20..]) {
            if t == CTRL_ATTR_FAMILY_ID && p.len() >= 2 {
                return u16::from_ne_bytes([p[0], p[1]]);
            }
        }
        println!("nlraw: nlctrl reply without a family id");
        exit(1)
    }
}

/// The attributes in `b`, as `(type, payload)`.
fn attrs(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut v = Vec::new();
    while b.len() >= 4 {
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let ty = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            break;
        }
        v.push((ty, &b[4..len]));
        b = &b[((len + 3) & !3).min(b.len())..];
    }
    v
}

/// The extended-ack message (`NLMSGERR_ATTR_MSG`) of an error or done
/// message, or "".
fn ext_ack_msg(ty: u16, flags: u16, m: &[u8]) -> String {
    if flags & NLM_F_ACK_TLVS == 0 {
        return String::new();
    }
    let tlvs = if ty == NLMSG_DONE {
        20
    } else if flags & NLM_F_CAPPED != 0 {
        20 + 16
    } else {
        // The whole request is echoed after the error.
        let echoed = m
            .get(20..24)
            .map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap()) as usize);
        20 + ((echoed + 3) & !3)
    };
    for (t, p) in attrs(m.get(tlvs..).unwrap_or(&[])) {
        if t == consts::NLMSGERR_ATTR_MSG {
            let s = p.split(|b| *b == 0).next().unwrap_or(&[]);
            return String::from_utf8_lossy(s).into_owned();
        }
    }
    String::new()
}

fn errno_name(e: i32) -> &'static str {
    match e {
        0 => "OK",
        1 => "EPERM",
        2 => "ENOENT",
        7 => "E2BIG",
        12 => "ENOMEM",
        17 => "EEXIST",
        22 => "EINVAL",
        34 => "ERANGE",
        90 => "EMSGSIZE",
        95 => "EOPNOTSUPP",
        105 => "ENOBUFS",
        125 => "ECANCELED",
        _ => "E?",
    }
}

/// Every malformed-request case, in the order of `build`.
const CASES: &[&str] = &[
    // Wrong attribute type or length.
    "hook-u8",
    "hook-u64",
    "fuel-u32",
    "priority-u64",
    "on-error-u32",
    "name-no-nul",
    "name-too-long",
    "name-nul-then-junk",
    "name-nul-inside",
    "name-trailing-nuls",
    "name-empty",
    "name-bad-chars",
    "replace-with-payload",
    "hook-nested-flag",
    "chunk-empty",
    "chunk-too-long",
    "config-too-long",
    // Missing required attributes.
    "load-no-name",
    "load-no-hook",
    "load-no-chunk",
    "load-nothing",
    "unload-no-name",
    "get-no-name",
    // Out-of-range values.
    "hook-9",
    "family-7",
    "on-error-5",
    "fuel-0",
    "fuel-too-much",
    "memory-pages-0",
    "memory-pages-257",
    // Attributes that have no place in a request.
    "unknown-attr",
    "attr-type-0",
    "reply-only-wasm-size",
    "reply-only-stats",
    "reply-only-stats-nested",
    "reply-only-pad",
    // Truncated or broken framing.
    "nlmsg-len-past-end",
    "nlmsg-len-tiny",
    "nlmsg-len-cuts-attr",
    "nla-len-past-end",
    "nla-len-too-small",
    "no-genl-header",
    "genl-reserved",
    "bad-nlmsg-flags",
    // Commands.
    "unknown-cmd",
    "cmd-0",
    "dump-load",
    "dump-unknown-attr",
    // What the chunks assemble into.
    "chunks-too-big",
    "chunks-max-plus-1",
    "chunks-max-garbage",
    "chunks-too-big-no-cap-ack",
    "chunks-garbage",
    "chunks-bad-body",
    // Names that do not exist.
    "get-nosuch",
    "unload-nosuch",
    // Map commands, on filter `m` (cidr_filter: lpm `deny`, 20-byte keys,
    // 4-byte values), which the guest test loads first.
    "map-no-map",
    "map-bad-name",
    "map-nosuch-filter",
    "map-nosuch-map",
    "map-key-size",
    "map-get-missing",
    "map-update-no-value",
    "map-update-value-size",
    "map-update-too-many",
    "map-update-flags-3",
    "map-update-exists",
    "map-update-prefix-too-long",
    "map-delete-missing",
    "map-delete-with-value",
    "map-reply-only-decl",
    "map-memory-small",
    // Maps filled by the load itself (fuzz::with_maps: hash m0 of 8 u32 ->
    // u64 entries): a failure refuses the whole load.
    "load-prefill-no-map",
    "load-prefill-size",
    "load-prefill-full",
    "load-prefill-value-first",
];

fn build(case: &str, fam: u16) -> Option<Msg> {
    let req = NLM_F_REQUEST | NLM_F_ACK;
    let v = consts::FAMILY_VERSION;
    let load = || Msg::new(fam, req, cmd::LOAD, v);
    // A load that is complete but for what the case adds or leaves out.
    let body = b"\0asm\x01\0\0\0";
    let ok = || load().name("x").u32(attr::HOOK, 1);
    let garbage = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 251) as u8 | 0x80).collect() };
    let on_map = |c: u8, filter: &str, map: Option<&str>| {
        let m = Msg::new(fam, req, c, v).name(filter);
        match map {
            Some(map) => m.attr(attr::MAP, &[map.as_bytes(), b"\0"].concat()),
            None => m,
        }
    };
    // A key of `deny` (IPv6, 20 bytes): 10.0.N.0/24 as IPv4-mapped /120.
    let deny_key = |n: u32| -> Vec<u8> {
        let mut k = 120u32.to_le_bytes().to_vec();
        k.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, n as u8, 0]);
        k
    };
    Some(match case {
        "hook-u8" => load().name("x").u8(attr::HOOK, 1).chunks(body, 8),
        "hook-u64" => load().name("x").u64(attr::HOOK, 1).chunks(body, 8),
        "fuel-u32" => ok().u32(attr::FUEL, 1000).chunks(body, 8),
        "priority-u64" => ok().u64(attr::PRIORITY, 1).chunks(body, 8),
        "on-error-u32" => ok().u32(attr::ON_ERROR, 1).chunks(body, 8),
        "name-no-nul" => load()
            .attr(attr::NAME, b"abc")
            .u32(attr::HOOK, 1)
            .chunks(body, 8),
        "name-too-long" => load()
            .name(&"n".repeat(consts::NAME_MAX + 1))
            .u32(attr::HOOK, 1)
            .chunks(body, 8),
        "name-nul-then-junk" => load()
            .attr(attr::NAME, &[&b"abc\0"[..], &[b'j'; 40]].concat())
            .u32(attr::HOOK, 1)
            .chunks(body, 8),
        // "nosuch\0junk": the policy only needs a NUL in the first 32
        // bytes; a name must not carry anything after it.
        "name-nul-inside" => Msg::new(fam, req, cmd::GET, v).attr(attr::NAME, b"nosuch\0junk"),
        // Padding NULs after the name are harmless (some clients send them).
        "name-trailing-nuls" => Msg::new(fam, req, cmd::GET, v).attr(attr::NAME, b"nosuch\0\0\0"),
        "name-empty" => load().name("").u32(attr::HOOK, 1).chunks(body, 8),
        "name-bad-chars" => load().name("a/b").u32(attr::HOOK, 1).chunks(body, 8),
        "replace-with-payload" => ok().u8(attr::REPLACE, 1).chunks(body, 8),
        "hook-nested-flag" => load()
            .name("x")
            .attr(attr::HOOK | NLA_F_NESTED, &1u32.to_ne_bytes())
            .chunks(body, 8),
        "chunk-empty" => ok().attr(attr::WASM_CHUNK, b"").chunks(body, 8),
        "chunk-too-long" => ok().attr(attr::WASM_CHUNK, &garbage(consts::CHUNK_MAX + 1)),
        "config-too-long" => ok()
            .attr(attr::CONFIG, &vec![b'a'; consts::CHUNK_MAX + 1])
            .chunks(body, 8),
        "load-no-name" => load().u32(attr::HOOK, 1).chunks(body, 8),
        "load-no-hook" => load().name("x").chunks(body, 8),
        "load-no-chunk" => ok(),
        "load-nothing" => load(),
        "unload-no-name" => Msg::new(fam, req, cmd::UNLOAD, v),
        "get-no-name" => Msg::new(fam, req, cmd::GET, v),
        "hook-9" => load().name("x").u32(attr::HOOK, 9).chunks(body, 8),
        "family-7" => ok().u32(attr::FAMILY, 7).chunks(body, 8),
        "on-error-5" => ok().u8(attr::ON_ERROR, 5).chunks(body, 8),
        "fuel-0" => ok().u64(attr::FUEL, 0).chunks(body, 8),
        "fuel-too-much" => ok().u64(attr::FUEL, 10_000_001).chunks(body, 8),
        "memory-pages-0" => ok().u32(attr::MEMORY_PAGES, 0).chunks(body, 8),
        "memory-pages-257" => ok().u32(attr::MEMORY_PAGES, 257).chunks(body, 8),
        "unknown-attr" => ok().u32(consts::ATTR_MAX + 1, 0).chunks(body, 8),
        "attr-type-0" => ok().u32(0, 0).chunks(body, 8),
        "reply-only-wasm-size" => ok().u32(attr::WASM_SIZE, 8).chunks(body, 8),
        "reply-only-stats" => ok()
            .attr(attr::STATS, &[8, 0, 1, 0, 0, 0, 0, 0])
            .chunks(body, 8),
        // As a reply carries it: the parser's nested-flag check comes first.
        "reply-only-stats-nested" => ok()
            .attr(attr::STATS | NLA_F_NESTED, &[8, 0, 1, 0, 0, 0, 0, 0])
            .chunks(body, 8),
        "reply-only-pad" => ok().attr(attr::PAD, b"").chunks(body, 8),
        "nlmsg-len-past-end" => {
            let m = ok().chunks(body, 8);
            let len = m.buf.len() as u32 + 64;
            m.with_len(len)
        }
        "nlmsg-len-tiny" => ok().with_len(8),
        "nlmsg-len-cuts-attr" => {
            // nlmsg_len ends 4 bytes into the last attribute's payload.
            let m = ok().chunks(body, 8);
            let len = m.buf.len() as u32 - 4;
            m.with_len(len)
        }
        "nla-len-past-end" => ok().raw_attr(200, attr::WASM_CHUNK, body),
        "nla-len-too-small" => ok().raw_attr(2, attr::WASM_CHUNK, body),
        "no-genl-header" => ok().with_len(18),
        "genl-reserved" => {
            let mut m = ok().chunks(body, 8);
            m.buf[18] = 1;
            m
        }
        "bad-nlmsg-flags" => Msg::new(fam, req | NLM_F_REPLACE, cmd::LOAD, v)
            .name("x")
            .u32(attr::HOOK, 1)
            .chunks(body, 8),
        "unknown-cmd" => Msg::new(fam, req, 9, v).name("x"),
        "cmd-0" => Msg::new(fam, req, 0, v).name("x"),
        "dump-load" => Msg::new(fam, req | NLM_F_DUMP, cmd::LOAD, v),
        "dump-unknown-attr" => {
            Msg::new(fam, req | NLM_F_DUMP, cmd::GET, v).u32(consts::ATTR_MAX + 1, 0)
        }
        "chunks-too-big" | "chunks-too-big-no-cap-ack" => {
            ok().chunks(&garbage(17 * consts::CHUNK_MAX), consts::CHUNK_MAX)
        }
        "chunks-max-plus-1" => ok().chunks(&garbage(MODULE_MAX + 1), consts::CHUNK_MAX),
        "chunks-max-garbage" => ok().chunks(&garbage(MODULE_MAX), consts::CHUNK_MAX),
        "chunks-garbage" => ok()
            .attr(attr::WASM_CHUNK, b"not ")
            .attr(attr::WASM_CHUNK, b"wasm"),
        // A valid header in one chunk, then a section whose size runs past
        // the end of the module.
        "chunks-bad-body" => ok()
            .attr(attr::WASM_CHUNK, body)
            .attr(attr::WASM_CHUNK, &[1, 0x7f, 0x60]),
        "map-no-map" => on_map(cmd::MAP_GET, "m", None),
        "map-bad-name" => on_map(cmd::MAP_GET, "m", Some("a-b")),
        "map-nosuch-filter" => on_map(cmd::MAP_INFO, "nosuch", Some("deny")),
        "map-nosuch-map" => on_map(cmd::MAP_INFO, "m", Some("nosuch")),
        "map-key-size" => on_map(cmd::MAP_GET, "m", Some("deny")).attr(attr::KEY, &[1, 2, 3]),
        "map-get-missing" => on_map(cmd::MAP_GET, "m", Some("deny")).attr(attr::KEY, &deny_key(7)),
        "map-update-no-value" => {
            on_map(cmd::MAP_UPDATE, "m", Some("deny")).attr(attr::KEY, &deny_key(1))
        }
        "map-update-value-size" => on_map(cmd::MAP_UPDATE, "m", Some("deny"))
            .attr(attr::KEY, &deny_key(1))
            .attr(attr::VALUE, &[1, 2, 3]),
        "map-update-too-many" => {
            let mut m = on_map(cmd::MAP_UPDATE, "m", Some("deny"));
            for i in 0..consts::BATCH_MAX as u32 + 1 {
                m = m
                    .attr(attr::KEY, &deny_key(i))
                    .attr(attr::VALUE, &[1, 0, 0, 0]);
            }
            m
        }
        "map-update-flags-3" => on_map(cmd::MAP_UPDATE, "m", Some("deny"))
            .u32(attr::UPDATE_FLAGS, 3)
            .attr(attr::KEY, &deny_key(1))
            .attr(attr::VALUE, &[1, 0, 0, 0]),
        // The same key twice, create-only: the first goes in, the second
        // is refused.
        "map-update-exists" => on_map(cmd::MAP_UPDATE, "m", Some("deny"))
            .u32(attr::UPDATE_FLAGS, 1)
            .attr(attr::KEY, &deny_key(2))
            .attr(attr::VALUE, &[1, 0, 0, 0])
            .attr(attr::KEY, &deny_key(2))
            .attr(attr::VALUE, &[1, 0, 0, 0]),
        "map-update-prefix-too-long" => {
            let mut k = deny_key(3);
            k[..4].copy_from_slice(&129u32.to_le_bytes());
            on_map(cmd::MAP_UPDATE, "m", Some("deny"))
                .attr(attr::KEY, &k)
                .attr(attr::VALUE, &[1, 0, 0, 0])
        }
        "map-delete-missing" => {
            on_map(cmd::MAP_DELETE, "m", Some("deny")).attr(attr::KEY, &deny_key(9))
        }
        "map-delete-with-value" => on_map(cmd::MAP_DELETE, "m", Some("deny"))
            .attr(attr::KEY, &deny_key(9))
            .attr(attr::VALUE, &[1, 0, 0, 0]),
        "map-reply-only-decl" => {
            on_map(cmd::MAP_INFO, "m", Some("deny")).attr(attr::MAP_DECL, &[0; 64])
        }
        "map-memory-small" => ok().u64(attr::MAP_MEMORY, 100).chunks(body, 8),
        "load-prefill-no-map" => load()
            .name("pre")
            .u32(attr::HOOK, 1)
            .chunks(&fuzz::with_maps(), 64)
            .attr(attr::MAP, b"zz\0")
            .attr(attr::KEY, &[1, 0, 0, 0])
            .attr(attr::VALUE, &[0; 8]),
        "load-prefill-size" => load()
            .name("pre")
            .u32(attr::HOOK, 1)
            .chunks(&fuzz::with_maps(), 64)
            .attr(attr::MAP, b"m0\0")
            .attr(attr::KEY, &[1, 0, 0])
            .attr(attr::VALUE, &[0; 8]),
        "load-prefill-full" => {
            let mut m = load()
                .name("pre")
                .u32(attr::HOOK, 1)
                .chunks(&fuzz::with_maps(), 64)
                .attr(attr::MAP, b"m0\0");
            for i in 0..9u32 {
                m = m
                    .attr(attr::KEY, &i.to_le_bytes())
                    .attr(attr::VALUE, &[0; 8]);
            }
            m
        }
        "load-prefill-value-first" => load()
            .name("pre")
            .u32(attr::HOOK, 1)
            .chunks(&fuzz::with_maps(), 64)
            .attr(attr::VALUE, &[0; 8]),
        "get-nosuch" => Msg::new(fam, req, cmd::GET, v).name("nosuch"),
        "unload-nosuch" => Msg::new(fam, req, cmd::UNLOAD, v).name("nosuch"),
        _ => return None,
    })
}

/// The answer's line: `nlraw: CASE: errno=NAME(N) msg="..." replies=N`.
fn line(case: &str, a: &Answer) -> String {
    match a.errno {
        None => format!("nlraw: {case}: errno=NOREPLY replies={}", a.replies),
        Some(e) => format!(
            "nlraw: {case}: errno={}({e}) msg=\"{}\" replies={}",
            errno_name(e),
            a.msg,
            a.replies
        ),
    }
}

fn report(case: &str, a: &Answer) {
    println!("{}", line(case, a));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!(
            "usage: nlraw list | CASE | load-file NAME FILE CHUNK [FAIL_NTH] | fuzz SECONDS SEED [SENDERS]"
        );
        exit(2)
    };
    let case = args.get(1).map(String::as_str).unwrap_or_else(|| usage());
    if case == "list" {
        for c in CASES {
            println!("{c}");
        }
        return;
    }
    if case == "fuzz" {
        fuzz::run(&args[2..]);
        return;
    }
    let mut sock = Sock::open(case != "chunks-too-big-no-cap-ack");
    let fam = sock.family();
    if case == "load-file" {
        let (Some(name), Some(file), Some(chunk)) = (
            args.get(2),
            args.get(3),
            args.get(4).and_then(|s| s.parse::<usize>().ok()),
        ) else {
            usage()
        };
        let bytes = std::fs::read(file).unwrap_or_else(|e| {
            println!("nlraw: {file}: {e}");
            exit(1)
        });
        let m = Msg::new(
            fam,
            NLM_F_REQUEST | NLM_F_ACK,
            cmd::LOAD,
            consts::FAMILY_VERSION,
        )
        .name(name)
        .u32(attr::HOOK, 1)
        .chunks(&bytes, chunk.clamp(1, consts::CHUNK_MAX));
        let Some(nth) = args.get(5) else {
            report(case, &sock.ask(m));
            return;
        };
        let Ok(nth) = nth.parse::<u32>() else { usage() };
        // Armed last, just before the request: the count runs over this
        // task's allocations that the injection's filters let through.
        let fail_nth = "/proc/thread-self/fail-nth";
        std::fs::write(fail_nth, nth.to_string()).unwrap_or_else(|e| {
            println!("nlraw: {fail_nth}: {e} (a kernel with CONFIG_FAULT_INJECTION)");
            exit(1)
        });
        let a = sock.ask(m);
        let left = std::fs::read_to_string(fail_nth).unwrap_or_else(|e| {
            println!("nlraw: {fail_nth}: {e}");
            exit(1)
        });
        // Disarm (a count not reached would fire on a later allocation).
        let _ = std::fs::write(fail_nth, "0");
        println!("{} fail-nth={}", line(case, &a), left.trim());
        return;
    }
    let Some(m) = build(case, fam) else { usage() };
    report(case, &sock.ask(m));
}
