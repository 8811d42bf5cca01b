//! The `wasmnf` generic-netlink family, version 1: every number of
//! `docs/netlink.md` (a test checks the document's tables against these).
//! The kernel module registers the family with them
//! (`kmod-netfilter/src/control.rs`); the CLI (`ctl/src/netlink/`) and the
//! VM tests' raw client (`tests/vm/nlraw`) speak it with them.

use super::counters::Counter;
use super::limits;

/// The family name registered with the generic-netlink controller.
pub const FAMILY_NAME: &core::ffi::CStr = c"wasmnf";
/// [`FAMILY_NAME`] as text.
pub const FAMILY_NAME_STR: &str = match FAMILY_NAME.to_str() {
    Ok(s) => s,
    Err(_) => panic!("the family name is ASCII"),
};
/// The family version.
pub const FAMILY_VERSION: u8 = 1;

/// Declares a module of numbered constants and `ALL`, their names and
/// values in order (what the documentation test reads).
macro_rules! numbered {
    ($(#[$mdoc:meta])* $m:ident: $t:ty { $( $(#[$doc:meta])* $name:ident = $v:literal, )* }) => {
        $(#[$mdoc])*
        pub mod $m {
            $( $(#[$doc])* pub const $name: $t = $v; )*
            /// Every constant of this module: its name and value, in order.
            pub const ALL: &[(&str, $t)] = &[$((stringify!($name), $v)),*];
        }
    };
}

numbered! {
    /// Commands (`genlmsghdr.cmd`, `WASMNF_CMD_*`).
    cmd: u8 {
        /// Load a filter (do, acked).
        LOAD = 1,
        /// Unload a filter by name (do, acked).
        UNLOAD = 2,
        /// One filter (do, with `NAME`) or all filters of the namespace (dump).
        GET = 3,
        /// One map of filter `NAME` (do, with `MAP`) or all of them (dump):
        /// `MAP`, `MAP_DECL`, `MAP_BYTES`, `MAP_ENTRIES`, `MAP_ROWS`.
        MAP_INFO = 4,
        /// The value of `KEY` in map `MAP` of filter `NAME` (do), or every
        /// entry of the map (dump): `KEY`, then one `VALUE` per row.
        MAP_GET = 5,
        /// Inserts or replaces entries (do, acked): `KEY`, `VALUE` pairs in
        /// order (a batch), under `UPDATE_FLAGS`.
        MAP_UPDATE = 6,
        /// Deletes entries (do, acked): one or more `KEY`s.
        MAP_DELETE = 7,
        /// Removes every entry of a map (do, acked; an array is zeroed).
        MAP_CLEAR = 8,
    }
}

numbered! {
    /// Top-level attributes (`WASMNF_A_*`).
    attr: u16 {
        /// NUL-terminated string, 1 to `NAME_MAX` bytes of `[A-Za-z0-9_.-]`.
        NAME = 1,
        /// u32 netfilter hook (`NF_INET_*`, [`super::hook`]).
        HOOK = 2,
        /// u32 `NFPROTO_*` ([`super::family`]).
        FAMILY = 3,
        /// s32 hook priority.
        PRIORITY = 4,
        /// u64 fuel per packet.
        FUEL = 5,
        /// u32 linear memory limit in pages.
        MEMORY_PAGES = 6,
        /// u8 failure policy ([`super::on_error`]).
        ON_ERROR = 7,
        /// Binary: `key=value` entries separated by `\n`.
        CONFIG = 8,
        /// Binary: one piece of the module, 1 to `CHUNK_MAX` bytes.
        WASM_CHUNK = 9,
        /// Flag: replace a filter of the same name.
        REPLACE = 10,
        /// u32 (replies) module size in bytes.
        WASM_SIZE = 11,
        /// u32 (replies) pre-created instances.
        INSTANCES = 12,
        /// u32 (replies) the filter ABI version.
        ABI_VERSION = 13,
        /// Nested (replies) counters: attribute numbers are the counters'
        /// (`Counter::attr`), padded with `STATS_PAD`.
        STATS = 14,
        /// Padding for 64-bit attributes.
        PAD = 15,
        /// NUL-terminated string: a map's name (1 to `maps::NAME_MAX`
        /// bytes of `[A-Za-z0-9_]`).
        MAP = 16,
        /// Binary: a map key, exactly the map's key size.
        KEY = 17,
        /// Binary: a map value, exactly the map's value size (replies: one
        /// per row, CPU 0 first).
        VALUE = 18,
        /// u32 `maps::update` flags of a `MAP_UPDATE` (default `ANY`).
        UPDATE_FLAGS = 19,
        /// Binary (replies): the map's declaration, its 64-byte
        /// `wasmnf.maps` record.
        MAP_DECL = 20,
        /// u64 (replies) bytes a map takes (`GET`: all the filter's maps).
        MAP_BYTES = 21,
        /// u32 (replies) entries a map holds.
        MAP_ENTRIES = 22,
        /// u32 (replies) value rows: CPUs for per-CPU maps, else 1.
        MAP_ROWS = 23,
        /// u64: bytes the filter's maps may take (`LOAD`; `GET` replies).
        MAP_MEMORY = 24,
        /// u32 (replies) how many maps the filter declares.
        MAP_COUNT = 25,
        /// Flag (`LOAD` with `REPLACE`): the new filter's maps start empty
        /// instead of keeping the old filter's that carry over.
        RESET_MAPS = 26,
    }
}

/// The highest command number.
pub const CMD_MAX: u8 = cmd::MAP_CLEAR;
/// The highest attribute number.
pub const ATTR_MAX: u16 = attr::RESET_MAPS;

// `ALL` is dense, `1..=MAX` in order: the module's policy and op tables are
// indexed by number.
const _: () = {
    let mut i = 0;
    while i < cmd::ALL.len() {
        assert!(cmd::ALL[i].1 as usize == i + 1);
        i += 1;
    }
    assert!(cmd::ALL.len() == CMD_MAX as usize);
    let mut i = 0;
    while i < attr::ALL.len() {
        assert!(attr::ALL[i].1 as usize == i + 1);
        i += 1;
    }
    assert!(attr::ALL.len() == ATTR_MAX as usize);
};

/// Padding inside `WASMNF_A_STATS`: the number after the last counter.
pub const STATS_PAD: u16 = Counter::COUNT as u16 + 1;

numbered! {
    /// `WASMNF_A_HOOK` values (`NF_INET_*`).
    hook: u32 {
        /// `NF_INET_PRE_ROUTING`.
        PREROUTING = 0,
        /// `NF_INET_LOCAL_IN`.
        INPUT = 1,
        /// `NF_INET_FORWARD`.
        FORWARD = 2,
        /// `NF_INET_LOCAL_OUT`.
        OUTPUT = 3,
        /// `NF_INET_POST_ROUTING`.
        POSTROUTING = 4,
    }
}

numbered! {
    /// `WASMNF_A_FAMILY` values (`NFPROTO_*`).
    family: u32 {
        /// `NFPROTO_INET`: IPv4 and IPv6 (the default).
        INET = 1,
        /// `NFPROTO_IPV4`.
        IPV4 = 2,
        /// `NFPROTO_IPV6`.
        IPV6 = 10,
    }
}

numbered! {
    /// `WASMNF_A_ON_ERROR` values.
    on_error: u8 {
        /// Fail open: accept the packet (the default).
        ACCEPT = 0,
        /// Fail closed: drop the packet.
        DROP = 1,
    }
}

/// The longest filter name, in bytes (without the NUL).
pub const NAME_MAX: usize = 31;
/// The largest `WASM_CHUNK` (and `CONFIG`) payload: one attribute cannot
/// exceed 64 KiB since `nla_len` is 16 bits.
pub const CHUNK_MAX: usize = 65000;
/// The largest module a load may carry (the engine's limit).
pub const MODULE_MAX: usize = limits::MODULE_SIZE_MAX;
/// Fuel when `FUEL` is absent.
pub const FUEL_DEFAULT: u64 = limits::FUEL_DEFAULT;
/// `FUEL` range.
pub const FUEL_RANGE: (u64, u64) = (1, limits::FUEL_MAX);
/// Memory limit when `MEMORY_PAGES` is absent.
pub const MEMORY_PAGES_DEFAULT: u32 = limits::MEMORY_PAGES_DEFAULT;
/// `MEMORY_PAGES` range.
pub const MEMORY_PAGES_RANGE: (u32, u32) = (1, limits::MEMORY_PAGES_MAX);
/// `MAP_MEMORY` range: at least one page, at most the engine's limit.
pub const MAP_MEMORY_RANGE: (u64, u64) = (4096, super::maps::MEMORY_MAX);
/// The most bytes the maps of all filters of one network namespace may take
/// together (each filter's own limit is `MAP_MEMORY`).
pub const NET_MAP_MEMORY_MAX: u64 = 1 << 30;
/// The most entries one `MAP_UPDATE` or `MAP_DELETE` may carry.
pub const BATCH_MAX: usize = 4096;

/// `HOOK` range.
pub const HOOK_RANGE: (u32, u32) = (hook::PREROUTING, hook::POSTROUTING);

/// Whether `name` is a valid filter name: 1 to [`NAME_MAX`] bytes of
/// `[A-Za-z0-9_.-]`.
pub const fn valid_name(name: &[u8]) -> bool {
    name_of(name, NAME_MAX, b"_.-")
}

/// Whether `name` is 1 to `max` bytes of ASCII letters, digits and the
/// bytes of `extra` (filter names here, map names in `super::maps`).
pub const fn name_of(name: &[u8], max: usize, extra: &[u8]) -> bool {
    if name.is_empty() || name.len() > max {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        let c = name[i];
        let mut ok = c.is_ascii_alphanumeric();
        let mut j = 0;
        while j < extra.len() {
            ok |= c == extra[j];
            j += 1;
        }
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// `NLMSGERR_ATTR_MSG`: the extended-ack message in an error or done message.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name(b"web-1.v2_x"));
        assert!(valid_name(&[b'a'; NAME_MAX]));
        assert!(!valid_name(&[b'a'; NAME_MAX + 1]));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"a b"));
        assert!(!valid_name(b"a/b"));
        assert_eq!(FAMILY_NAME.to_str(), Ok("wasmnf"));
    }
}
