//! Drops TCP and UDP packets to one destination port.
//! Config: `port=N` (required), `proto=tcp|udp|any` (default `any`).
#![no_std]
use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};

static PORT: State<u16> = State::new(0);
/// Whether both TCP and UDP match (`proto=any`).
static ANY: State<bool> = State::new(true);
/// The IP protocol that matches otherwise (6 or 17).
static PROTO: State<u8> = State::new(0);

fn init() -> Result<(), InitError> {
    PORT.set(config::require("port")?);
    let proto = config::with("proto", |p| match p {
        "tcp" => Ok(Some(6)),
        "udp" => Ok(Some(17)),
        "any" => Ok(None),
        _ => Err(InitError::Invalid("proto")),
    })?;
    let proto = proto.transpose()?.flatten();
    ANY.set(proto.is_none());
    PROTO.set(proto.unwrap_or(0));
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    // The host found the ports (TCP or UDP, not a later fragment). Most
    // packets go to other ports: compare the port first, the protocol only
    // on a match.
    match pkt.ports() {
        Some((_, dst))
            if dst == PORT.get() && (ANY.get() || pkt.protocol() == Some(PROTO.get())) =>
        {
            Verdict::Drop
        }
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
