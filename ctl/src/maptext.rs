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

/// Fills `filter`'s maps from `NAME=@FILE` specs (`replay --map`). Every
/// file is read and parsed before any entry goes in, so a bad line loads
/// nothing; a map that fills up part-way says how many entries went in.
pub fn fill(filter: &Filter, specs: &[String]) -> Result<(), FillError> {
    let fail = |kind, message| Err(FillError { kind, message });
    let mut loads = Vec::new();
    for spec in specs {
        let Some((name, file)) = spec.split_once("=@") else {
            return fail(
                FillErrorKind::Usage,
                format!("--map {spec}: expected NAME=@FILE"),
            );
        };
        let Some(map) = filter.maps().by_name(name) else {
            let names: Vec<&str> = filter.maps().iter().map(|m| m.decl().name()).collect();
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
        match parse_file(map.decl(), file, &text) {
            Ok(entries) => loads.push((map, file, entries)),
            Err(e) => return fail(FillErrorKind::Usage, e),
        }
    }
    for (map, file, entries) in loads {
        for (n, (k, v)) in entries.iter().enumerate() {
            let r = map.update(k, v, update::ANY, Cpus::All);
            if r != ret::OK {
                let d = map.decl();
                let why = match r {
                    ret::E2BIG => format!("map `{}` is full ({} entries)", d.name(), d.max_entries),
                    other => format!("map `{}` refused it (errno {})", d.name(), -other),
                };
                return fail(
                    FillErrorKind::Refused,
                    format!(
                        "{file}: entry {} (`{}`): {why}; {n} entries went in before it",
                        n + 1,
                        format_key(d, k)
                    ),
                );
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
