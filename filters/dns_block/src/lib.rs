//! Drops DNS queries (UDP or TCP to port 53) whose first question's name is
//! a listed name or one of its subdomains, case-insensitively.
//! Config: `names=example.com,ads.example.net` (required; at most 32 names of
//! at most 63 bytes each). Responses and other traffic pass.
#![no_std]
use wasmnf_sdk::{config, entry, InitError, List, Packet, State, Verdict};

const NAME_MAX: usize = 63;

/// A blocked name, lower-case, dotted.
#[derive(Clone, Copy)]
struct Name {
    bytes: [u8; NAME_MAX],
    len: usize,
}

static NAMES: State<List<Name, 32>> = State::new(List::new());

fn init() -> Result<(), InitError> {
    let names = config::with("names", |value| {
        let mut list = List::new();
        for item in value.split(',').map(|s| s.trim().trim_end_matches('.')) {
            if item.is_empty() || item.len() > NAME_MAX {
                return Err(InitError::Invalid("names"));
            }
            let mut name = Name {
                bytes: [0; NAME_MAX],
                len: item.len(),
            };
            for (d, s) in name.bytes.iter_mut().zip(item.bytes()) {
                *d = s.to_ascii_lowercase();
            }
            if !list.push(name) {
                return Err(InitError::Message("more than 32 names"));
            }
        }
        Ok(list)
    })?
    .ok_or(InitError::Missing("names"))??;
    NAMES.set(names);
    Ok(())
}

/// Reads the first question's name at `off` as dotted lower-case text into
/// `out`; returns its length. `None` for compressed or malformed names.
fn qname(pkt: &Packet, mut off: usize, out: &mut [u8; 255]) -> Option<usize> {
    let mut len = 0;
    loop {
        let label = usize::from(pkt.u8(off)?);
        if label == 0 {
            return Some(len);
        }
        if label > 63 || len + label + 1 > out.len() {
            return None;
        }
        if len > 0 {
            out[len] = b'.';
            len += 1;
        }
        if pkt.read(off + 1, &mut out[len..len + label]) != label {
            return None;
        }
        out[len..len + label].make_ascii_lowercase();
        len += label;
        off += 1 + label;
    }
}

fn blocked(name: &[u8]) -> bool {
    NAMES.with(|names| {
        names.iter().any(|n| {
            let n = &n.bytes[..n.len];
            name == n
                || (name.len() > n.len()
                    && name.ends_with(n)
                    && name[name.len() - n.len() - 1] == b'.')
        })
    })
}

fn filter(pkt: &Packet) -> Verdict {
    // The DNS message starts after the UDP header, or after the TCP header
    // and a 2-byte length prefix.
    let dns = if let Some(udp) = pkt.udp().filter(|u| u.dst_port == 53) {
        udp.offset + 8
    } else if let Some(tcp) = pkt.tcp().filter(|t| t.dst_port == 53) {
        let Some(data_off) = pkt.u8(tcp.offset + 12) else {
            return Verdict::Accept;
        };
        tcp.offset + usize::from(data_off >> 4) * 4 + 2
    } else {
        return Verdict::Accept;
    };
    // A query (QR bit clear) with at least one question.
    let (Some(flags), Some(qdcount)) = (pkt.u16(dns + 2), pkt.u16(dns + 4)) else {
        return Verdict::Accept;
    };
    if flags & 0x8000 != 0 || qdcount == 0 {
        return Verdict::Accept;
    }
    let mut name = [0u8; 255];
    match qname(pkt, dns + 12, &mut name) {
        Some(len) if blocked(&name[..len]) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
