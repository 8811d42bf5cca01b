//! Drops packets by address prefix.
//! Config: `deny=PREFIX,...` drops matching packets; `allow=PREFIX,...` drops
//! every packet that matches no allowed prefix; `addr=src|dst` (default
//! `src`) picks the address tested. Deny is checked first. Prefixes are
//! IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`, or a bare address); at most
//! 64 per list.
#![no_std]
use wasmnf_sdk::{config, entry, Cidr, InitError, List, Packet, State, Verdict};

type Prefixes = List<Cidr, 64>;

static DENY: State<Prefixes> = State::new(List::new());
static ALLOW: State<Option<Prefixes>> = State::new(None);
static USE_DST: State<bool> = State::new(false);

fn parse(key: &'static str) -> Result<Option<Prefixes>, InitError> {
    let parsed = config::with(key, |value| {
        let mut list = Prefixes::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let cidr = item.parse().map_err(|_| InitError::Invalid(key))?;
            if !list.push(cidr) {
                return Err(InitError::Message("more than 64 prefixes in one list"));
            }
        }
        Ok(list)
    })?;
    parsed.transpose()
}

fn init() -> Result<(), InitError> {
    DENY.set(parse("deny")?.unwrap_or_default());
    ALLOW.set(parse("allow")?);
    USE_DST.set(match config::with("addr", |a| a == "dst")? {
        Some(true) => true,
        Some(false) if config::with("addr", |a| a == "src")? != Some(true) => {
            return Err(InitError::Invalid("addr"))
        }
        _ => false,
    });
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    let Some(ip) = pkt.ip() else {
        return Verdict::Accept;
    };
    let addr = if USE_DST.get() { ip.dst } else { ip.src };
    if DENY.with(|deny| deny.iter().any(|c| c.contains(addr))) {
        return Verdict::Drop;
    }
    let allowed = ALLOW.with(|allow| match allow {
        Some(list) => list.iter().any(|c| c.contains(addr)),
        None => true,
    });
    if allowed {
        Verdict::Accept
    } else {
        Verdict::Drop
    }
}

entry!(filter, init = init);
