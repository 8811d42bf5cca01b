//! Drops TCP and UDP packets to one destination port.
//! Config: `port=N` (required), `proto=tcp|udp|any` (default `any`).
#![no_std]
use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};

static PORT: State<u16> = State::new(0);
/// IP protocol to match, 0 for both TCP and UDP.
static PROTO: State<u8> = State::new(0);

fn init() -> Result<(), InitError> {
    PORT.set(config::require("port")?);
    let proto = config::with("proto", |p| match p {
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "any" => Ok(0),
        _ => Err(InitError::Invalid("proto")),
    })?;
    PROTO.set(proto.transpose()?.unwrap_or(0));
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    let Some(l3) = pkt.l3() else {
        return Verdict::Accept;
    };
    let proto = PROTO.get();
    let offset = match (proto, l3.protocol) {
        (0, 6 | 17) => l3.l4(l3.protocol),
        (p, q) if p == q => l3.l4(p),
        _ => None,
    };
    match offset.and_then(|off| pkt.u16(off + 2)) {
        Some(dst) if dst == PORT.get() => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
