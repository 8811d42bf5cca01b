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
    // The host found the ports (TCP or UDP, not a later fragment).
    let dst = match PROTO.get() {
        0 => pkt.ports().map(|(_, dst)| dst),
        6 => pkt.tcp().map(|tcp| tcp.dst_port),
        _ => pkt.udp().map(|udp| udp.dst_port),
    };
    match dst {
        Some(dst) if dst == PORT.get() => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
