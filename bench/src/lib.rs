//! The benchmark's pieces, shared with the differential tests: a
//! deterministic capture generator and the rule in native Rust.

pub mod gen;
pub mod native;

use wasmnf_engine::Family;

/// The benchmark rule, `(tcp or udp) and dst port PORT`, in plain Rust on the
/// network layer with libpcap's semantics: IPv4 non-first fragments never
/// match; for IPv6 the transport protocol is the base header's next header.
pub fn native_drop_port(pkt: &[u8], family: Family, port: u16) -> bool {
    let be16 = |at: usize| {
        pkt.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    match family {
        Family::Ipv4 => {
            let (Some(&vihl), Some(&proto), Some(frag)) = (pkt.first(), pkt.get(9), be16(6)) else {
                return false;
            };
            let ihl = usize::from(vihl & 0x0f) * 4;
            matches!(proto, 6 | 17) && frag & 0x1fff == 0 && be16(ihl + 2) == Some(port)
        }
        Family::Ipv6 => matches!(pkt.get(6), Some(6 | 17)) && be16(42) == Some(port),
    }
}

/// The filter directory the build script filled.
pub fn filters_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("WASMNF_FILTERS_DIR"))
}

/// `wasm` with a `wasmnf.maps` custom section holding `records` appended
/// (map declarations, `wasmnf_common::maps`), as a linker would emit it.
pub fn with_map_section(mut wasm: Vec<u8>, records: &[u8]) -> Vec<u8> {
    let name = wasmnf_engine::common::maps::SECTION;
    let mut body = vec![name.len() as u8];
    body.extend(name.as_bytes());
    body.extend(records);
    wasm.push(0);
    // The section size, unsigned LEB128.
    let mut n = body.len();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        wasm.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            break;
        }
    }
    wasm.extend(body);
    wasm
}
