//! Map keys and values as text, typed by the map's declaration
//! (`wasmnf_common::maps::ty`): what `replay --map` reads and `--dump-maps`
//! and `check` print.
//!
//! - integers (`u8` .. `u64`): decimal or `0x` hex, little-endian; a value
//!   of several integers is written as that many, space-separated;
//! - `ipv4`, `ipv6`: addresses; an `lpm` key is a prefix (`10.0.0.0/8`,
//!   `2001:db8::/32`, or a bare address for the longest). An `lpm` map of
//!   IPv6 keys takes IPv4 prefixes too, as IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
//!   `/96+n`), and prints them back as IPv4;
//! - `hex`: the bytes as hex digits (`0x` optional).
//!
//! A map file has one entry per line, `KEY [VALUE]` (a missing value is
//! zero); blank lines and lines starting with `#` are skipped.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use wasmnf_common::maps::{elem_size, kind, ret, ty, update, Decl};
use wasmnf_engine::{Cpus, Filter, GracePeriod};

/// A one-line description of a declaration: `lpm ipv6/20 -> u32 x1`.
pub fn describe(d: &Decl) -> String {
    let kind = kind::name(d.kind).unwrap_or("?");
    let key = match d.kind {
        kind::LPM => format!("{} prefix", ty::name(d.key_type).unwrap_or("?")),
        _ => type_text(d.key_type, d.key_size),
    };
    format!(
        "{kind}, key {key}, value {}",
        type_text(d.value_type, d.value_size)
    )
}

/// `u64 x2`, `ipv4`, `hex (12 bytes)`.
fn type_text(t: u8, size: u32) -> String {
    let name = ty::name(t).unwrap_or("?");
    match (t, size / elem_size(t)) {
        (ty::HEX, _) => format!("hex ({size} bytes)"),
        (_, 1) => name.to_string(),
        (_, n) => format!("{name} x{n}"),
    }
}

/// Parses one integer of `width` bytes.
fn int(s: &str, width: u32) -> Result<u64, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse::<u64>(),
    }
    .map_err(|_| format!("`{s}` is not an unsigned integer"))?;
    if width < 8 && v >> (width * 8) != 0 {
        return Err(format!("{v} does not fit in {width} byte(s)"));
    }
    Ok(v)
}

fn hex(s: &str, size: u32) -> Result<Vec<u8>, String> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.len() != size as usize * 2 {
        return Err(format!(
            "`{s}`: expected {size} bytes as {} hex digits",
            size * 2
        ));
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| format!("`{s}` is not hex")))
        .collect()
}

/// Parses `tokens` as a value or key of type `t` and `size` bytes.
fn typed(tokens: &[&str], t: u8, size: u32) -> Result<Vec<u8>, String> {
    let n = (size / elem_size(t)) as usize;
    if t == ty::HEX {
        return match tokens {
            [one] => hex(one, size),
            _ => Err(format!("expected {size} bytes of hex in one word")),
        };
    }
    if tokens.len() != n {
        return Err(format!(
            "expected {n} {}{}, found {}",
            ty::name(t).unwrap_or("?"),
            if n == 1 { "" } else { "s" },
            tokens.len()
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    for tok in tokens {
        match t {
            ty::IPV4 => out.extend(
                tok.parse::<Ipv4Addr>()
                    .map_err(|_| format!("`{tok}` is not an IPv4 address"))?
                    .octets(),
            ),
            ty::IPV6 => out.extend(
                tok.parse::<Ipv6Addr>()
                    .map_err(|_| format!("`{tok}` is not an IPv6 address"))?
                    .octets(),
            ),
            _ => {
                let w = elem_size(t);
                out.extend(&int(tok, w)?.to_le_bytes()[..w as usize]);
            }
        }
    }
    Ok(out)
}

/// Parses an `lpm` key: a prefix or an address.
fn prefix(s: &str, d: &Decl) -> Result<Vec<u8>, String> {
    let data = d.lpm_data();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (
            a,
            Some(
                l.parse::<u32>()
                    .map_err(|_| format!("`{l}` is not a prefix length"))?,
            ),
        ),
        None => (s, None),
    };
    let (bytes, max): (Vec<u8>, u32) = match (d.key_type, data) {
        (ty::IPV4, 4) => (typed(&[addr], ty::IPV4, 4)?, 32),
        (ty::IPV6, 16) => match addr.parse::<IpAddr>() {
            Ok(IpAddr::V6(a)) => (a.octets().to_vec(), 128),
            Ok(IpAddr::V4(a)) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return Err(format!("`{s}`: an IPv4 prefix is at most /32"));
                }
                let mut k = (len + 96).to_le_bytes().to_vec();
                k.extend(a.to_ipv6_mapped().octets());
                return Ok(k);
            }
            Err(_) => return Err(format!("`{addr}` is not an IP address")),
        },
        _ => (typed(&[addr], ty::HEX, data)?, data * 8),
    };
    let len = len.unwrap_or(max);
    if len > max {
        return Err(format!("`{s}`: the prefix length is at most {max}"));
    }
    let mut k = len.to_le_bytes().to_vec();
    k.extend(bytes);
    Ok(k)
}

/// Parses a key of the map.
pub fn parse_key(d: &Decl, s: &str) -> Result<Vec<u8>, String> {
    match d.kind {
        kind::LPM => prefix(s, d),
        _ => typed(&[s], d.key_type, d.key_size),
    }
}

/// Parses a value of the map from its words (none: zero).
pub fn parse_value(d: &Decl, words: &[&str]) -> Result<Vec<u8>, String> {
    match words {
        [] => Ok(vec![0; d.value_size as usize]),
        _ => typed(words, d.value_type, d.value_size),
    }
}

/// One entry of a map file.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Parses a map file's text; an error names the line (`FILE:LINE: ...`).
pub fn parse_file(d: &Decl, file: &str, text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let key = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        let at = |e: String| {
            format!(
                "{file}:{}: {e} (map `{}`: {})",
                i + 1,
                d.name(),
                describe(d)
            )
        };
        entries.push((
            parse_key(d, key).map_err(at)?,
            parse_value(d, &rest).map_err(at)?,
        ));
    }
    Ok(entries)
}

fn words(b: &[u8], t: u8) -> Vec<String> {
    match t {
        ty::HEX => vec![b.iter().map(|x| format!("{x:02x}")).collect()],
        ty::IPV4 => b
            .chunks(4)
            .map(|c| Ipv4Addr::from(<[u8; 4]>::try_from(c).unwrap_or_default()).to_string())
            .collect(),
        ty::IPV6 => b
            .chunks(16)
            .map(|c| Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap_or_default()).to_string())
            .collect(),
        _ => b
            .chunks(elem_size(t) as usize)
            .map(|c| le(c).to_string())
            .collect(),
    }
}

fn le(c: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..c.len()].copy_from_slice(c);
    u64::from_le_bytes(w)
}

/// A key as text.
pub fn format_key(d: &Decl, key: &[u8]) -> String {
    if d.kind != kind::LPM {
        return words(key, d.key_type).join(" ");
    }
    let len = le(&key[..4]) as u32;
    let data = &key[4..];
    match d.key_type {
        ty::IPV4 if data.len() == 4 => format!("{}/{len}", words(data, ty::IPV4)[0]),
        ty::IPV6 if data.len() == 16 => {
            let a = Ipv6Addr::from(<[u8; 16]>::try_from(data).unwrap_or_default());
            match a.to_ipv4_mapped() {
                Some(v4) if len >= 96 => format!("{v4}/{}", len - 96),
                _ => format!("{a}/{len}"),
            }
        }
        _ => format!("{}/{len}", words(data, ty::HEX)[0]),
    }
}

/// A value as text.
pub fn format_value(d: &Decl, value: &[u8]) -> String {
    words(value, d.value_type).join(" ")
}

/// A value for JSON: a number or address, or a list of them.
pub fn json_value(d: &Decl, value: &[u8]) -> serde_json::Value {
    let t = d.value_type;
    let items: Vec<serde_json::Value> = match t {
        ty::HEX | ty::IPV4 | ty::IPV6 => words(value, t).into_iter().map(Into::into).collect(),
        _ => value
            .chunks(elem_size(t) as usize)
            .map(|c| le(c).into())
            .collect(),
    };
    match <[_; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => items.into(),
    }
}

/// A map's declaration as `check` and `map list` show it.
#[derive(Serialize)]
pub struct Summary {
    pub id: u32,
    pub name: String,
    pub kind: &'static str,
    pub key_type: &'static str,
    pub key_size: u32,
    pub value_type: &'static str,
    pub value_size: u32,
    pub max_entries: u32,
    /// Bytes the host allocates for it at load.
    pub memory_bytes: u64,
    /// Entries it holds now (a loaded filter's map; an array: its capacity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u32>,
    /// [`describe`].
    pub summary: String,
}

impl Summary {
    /// The summary of declaration `d`, taking `memory_bytes`.
    pub fn new(d: &Decl, memory_bytes: u64, entries: Option<u32>) -> Summary {
        Summary {
            id: d.id,
            name: d.name().into(),
            kind: kind::name(d.kind).unwrap_or("?"),
            key_type: ty::name(d.key_type).unwrap_or("?"),
            key_size: d.key_size,
            value_type: ty::name(d.value_type).unwrap_or("?"),
            value_size: d.value_size,
            max_entries: d.max_entries,
            memory_bytes,
            entries,
            summary: describe(d),
        }
    }

    /// One line of text: `NAME: TYPES; [N of] MAX entries, SIZE`.
    pub fn line(&self) -> String {
        let held = self.entries.map(|n| format!("{n} of ")).unwrap_or_default();
        format!(
            "{}: {}; {held}{} entries, {}",
            self.name,
            self.summary,
            self.max_entries,
            size_text(self.memory_bytes)
        )
    }
}

/// A byte count as text (bytes, KiB, MiB).
pub fn size_text(b: u64) -> String {
    match b {
        0..1024 => format!("{b} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}

/// A map as `--dump-maps --json` prints it.
#[derive(Serialize)]
pub struct Dump {
    pub name: String,
    pub kind: &'static str,
    /// [`describe`].
    pub types: String,
    pub max_entries: u32,
    pub entries: Vec<DumpEntry>,
}

/// One entry: its key, and its value (or one per CPU, with their sum where
/// the values are integers).
#[derive(Serialize)]
pub struct DumpEntry {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<serde_json::Value>,
}

impl Dump {
    /// The dump of map `d` from its entries (key, one value per row),
    /// sorted by key; an array's all-zero entries are left out.
    pub fn new(d: &Decl, entries: impl IntoIterator<Item = (Vec<u8>, Vec<Vec<u8>>)>) -> Dump {
        let array = matches!(d.kind, kind::ARRAY | kind::PERCPU_ARRAY);
        let mut kept: Vec<(Vec<u8>, Vec<Vec<u8>>)> = entries
            .into_iter()
            .filter(|(_, rows)| !(array && rows.iter().all(|v| v.iter().all(|b| *b == 0))))
            .collect();
        kept.sort_by(|a, b| a.0.cmp(&b.0));
        let one = !d.per_cpu();
        Dump {
            name: d.name().into(),
            kind: kind::name(d.kind).unwrap_or("?"),
            types: describe(d),
            max_entries: d.max_entries,
            entries: kept
                .iter()
                .map(|(k, rows)| DumpEntry {
                    key: format_key(d, k),
                    value: one
                        .then(|| rows.first().map(|v| json_value(d, v)))
                        .flatten(),
                    values: (!one).then(|| rows.iter().map(|v| json_value(d, v)).collect()),
                    sum: (!one)
                        .then(|| sum(d, rows))
                        .flatten()
                        .map(|s| json_value(d, &s)),
                })
                .collect(),
        }
    }

    /// Prints the dump as text: a heading, then one line per entry.
    pub fn print(&self) {
        println!(
            "map {} ({}; {} of {} entries)",
            self.name,
            self.types,
            self.entries.len(),
            self.max_entries
        );
        for e in &self.entries {
            println!("  {}", e.line());
        }
    }
}

impl DumpEntry {
    /// The entry as text: `KEY  VALUE`, or per CPU with their sum.
    pub fn line(&self) -> String {
        match (&self.value, &self.values) {
            (Some(v), _) => format!("{}  {}", self.key, text(v)),
            (None, Some(per_cpu)) => {
                let cpus: Vec<String> = per_cpu
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("cpu{i} {}", text(v)))
                    .collect();
                let sum = self
                    .sum
                    .as_ref()
                    .map(|s| format!("  sum {}", text(s)))
                    .unwrap_or_default();
                format!("{}  {}{sum}", self.key, cpus.join("  "))
            }
            _ => self.key.clone(),
        }
    }
}

/// A JSON value as text: numbers and addresses space-separated.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The element-wise sum of per-CPU integer values, or `None` for other
/// types.
pub fn sum(d: &Decl, values: &[Vec<u8>]) -> Option<Vec<u8>> {
    let w = elem_size(d.value_type) as usize;
    if !matches!(d.value_type, ty::U8 | ty::U16 | ty::U32 | ty::U64) {
        return None;
    }
    let mut out = vec![0u8; d.value_size as usize];
    for chunk in (0..out.len()).step_by(w) {
        let total = values
            .iter()
            .fold(0u64, |a, v| a.wrapping_add(le(&v[chunk..chunk + w])));
        out[chunk..chunk + w].copy_from_slice(&total.to_le_bytes()[..w]);
    }
    Some(out)
}

/// What kind of problem stopped [`fill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillErrorKind {
    /// A bad `NAME=@FILE`, an unknown map, or a line that does not parse.
    Usage,
    /// A file could not be read.
    Io,
    /// The map refused an entry (full).
    Refused,
}

/// Why [`fill`] stopped, in words that name the file and line or entry.
#[derive(Debug)]
pub struct FillError {
    pub kind: FillErrorKind,
    pub message: String,
}

/// One `NAME=@FILE` spec, read and parsed.
pub struct Load {
    /// The map's declaration.
    pub decl: Decl,
    /// The file, as given.
    pub file: String,
    pub entries: Vec<Entry>,
}

/// Reads and parses every `NAME=@FILE` spec against the filter's map
/// declarations `decls`, before anything is loaded: a bad spec, an unknown
/// map, an unreadable file or a line that does not parse stops them all.
pub fn read_specs(decls: &[Decl], specs: &[String]) -> Result<Vec<Load>, FillError> {
    let fail = |kind, message| Err(FillError { kind, message });
    let mut loads = Vec::new();
    for spec in specs {
        let Some((name, file)) = spec.split_once("=@") else {
            return fail(
                FillErrorKind::Usage,
                format!("--map {spec}: expected NAME=@FILE"),
            );
        };
        let Some(decl) = decls.iter().find(|d| d.name() == name) else {
            let names: Vec<&str> = decls.iter().map(Decl::name).collect();
            return fail(
                FillErrorKind::Usage,
                match names.is_empty() {
                    true => format!("--map {spec}: the filter declares no maps"),
                    false => format!(
                        "--map {spec}: the filter has no map `{name}` (it has {})",
                        names.join(", ")
                    ),
                },
            );
        };
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                return fail(
                    FillErrorKind::Io,
                    format!("cannot read map file {file}: {e}"),
                )
            }
        };
        match parse_file(decl, file, &text) {
            Ok(entries) => loads.push(Load {
                decl: *decl,
                file: file.into(),
                entries,
            }),
            Err(e) => return fail(FillErrorKind::Usage, e),
        }
    }
    Ok(loads)
}

/// Why a map refused an entry (`ret` code `r`), in words.
pub fn refusal(d: &Decl, r: i32) -> String {
    match r {
        ret::E2BIG if matches!(d.kind, kind::ARRAY | kind::PERCPU_ARRAY) => {
            format!(
                "index past the end of map `{}` ({} entries)",
                d.name(),
                d.max_entries
            )
        }
        ret::E2BIG => format!("map `{}` is full ({} entries)", d.name(), d.max_entries),
        ret::EEXIST => format!("the key exists in map `{}`", d.name()),
        ret::ENOENT => format!("no such key in map `{}`", d.name()),
        ret::EFAULT => format!(
            "map `{}` is inconsistent (a bug in wasmnf; please report it)",
            d.name()
        ),
        other => format!("map `{}` refused it (errno {})", d.name(), -other),
    }
}

/// Fills `filter`'s maps from `NAME=@FILE` specs (`replay --map`). Every
/// file is read and parsed before any entry goes in, so a bad line loads
/// nothing; a map that fills up part-way says how many entries went in.
pub fn fill(filter: &Filter, specs: &[String]) -> Result<(), FillError> {
    let decls: Vec<Decl> = filter.maps().iter().map(|m| *m.decl()).collect();
    for load in read_specs(&decls, specs)? {
        let d = &load.decl;
        let Some(map) = filter.maps().get(d.id) else {
            continue;
        };
        for (n, (k, v)) in load.entries.iter().enumerate() {
            let r = map.update(k, v, update::ANY, Cpus::All);
            if r != ret::OK {
                return Err(FillError {
                    kind: FillErrorKind::Refused,
                    message: format!(
                        "{}: entry {} (`{}`): {}; {n} entries went in before it",
                        load.file,
                        n + 1,
                        format_key(d, k),
                        refusal(d, r)
                    ),
                });
            }
        }
    }
    // One thread, no run in progress.
    filter.maps().reclaim(GracePeriod::elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip_by_type() {
        let lpm = Decl::new(0, "deny", kind::LPM, ty::IPV6, 20, ty::U32, 4, 10);
        for text in ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32", "::/0"] {
            let k = parse_key(&lpm, text).unwrap();
            assert_eq!(format_key(&lpm, &k), text);
        }
        assert_eq!(
            format_key(&lpm, &parse_key(&lpm, "192.0.2.1").unwrap()),
            "192.0.2.1/32"
        );
        assert!(parse_key(&lpm, "10.0.0.0/33").unwrap_err().contains("/32"));
        let v4 = Decl::new(0, "v4", kind::LPM, ty::IPV4, 8, ty::U32, 4, 10);
        assert!(parse_key(&v4, "2001:db8::/32").is_err());
        let counters = Decl::new(0, "c", kind::HASH, ty::IPV4, 4, ty::U64, 16, 10);
        let v = parse_value(&counters, &["3", "0x10"]).unwrap();
        assert_eq!(format_value(&counters, &v), "3 16");
        assert_eq!(json_value(&counters, &v), serde_json::json!([3, 16]));
        assert!(parse_value(&counters, &["3"])
            .unwrap_err()
            .contains("expected 2 u64s"));
        let small = Decl::new(0, "s", kind::ARRAY, ty::U32, 4, ty::U8, 1, 10);
        assert!(parse_value(&small, &["256"]).unwrap_err().contains("fit"));
        let h = Decl::new(0, "h", kind::HASH, ty::HEX, 3, ty::U8, 1, 10);
        assert_eq!(format_key(&h, &parse_key(&h, "0a0b0c").unwrap()), "0a0b0c");
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_number() {
        let lpm = Decl::new(0, "deny", kind::LPM, ty::IPV4, 8, ty::U32, 4, 10);
        let e =
            parse_file(&lpm, "list.txt", "# blocklist\n10.0.0.0/8 1\n\n10.0.0/8\n").unwrap_err();
        assert!(e.starts_with("list.txt:4: "), "{e}");
        assert_eq!(
            parse_file(&lpm, "f", "10.0.0.0/8\n192.0.2.0/24 7\n")
                .unwrap()
                .len(),
            2
        );
    }
}
