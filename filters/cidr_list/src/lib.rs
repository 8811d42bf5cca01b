//! Drops packets by address prefix, from lists in the configuration: the
//! list-based form of `cidr_filter` (which keeps its prefixes in longest-
//! prefix maps), kept as the honest test of interpreted loops.
//! Config: `deny=PREFIX,...` drops matching packets; `allow=PREFIX,...` drops
//! every packet that matches no allowed prefix; `addr=src|dst` (default
//! `src`) picks the address tested. Deny is checked first. Prefixes are
//! IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`, or a bare address); at most
//! 64 per list.
#![no_std]
use wasmnf_sdk::{config, entry, InitError, Packet, PrefixSet, State, Verdict};

type Prefixes = PrefixSet<64>;

static DENY: State<Prefixes> = State::new(PrefixSet::new());
static ALLOW: State<Prefixes> = State::new(PrefixSet::new());
/// Whether `allow` was given (an empty allow list drops everything).
static HAS_ALLOW: State<bool> = State::new(false);
static USE_DST: State<bool> = State::new(false);

/// Adds the prefixes of config `key` to `list` (in place: a set is a few
/// KiB, more than a filter's stack should copy); whether `key` was given.
fn parse_into(key: &'static str, list: &mut Prefixes) -> Result<bool, InitError> {
    config::each(key, |cidr| {
        list.insert(cidr)
            .then_some(())
            .ok_or(InitError::Message("more than 64 prefixes in one list"))
    })
}

fn init() -> Result<(), InitError> {
    DENY.with(|deny| parse_into("deny", deny))?;
    HAS_ALLOW.set(ALLOW.with(|allow| parse_into("allow", allow))?);
    USE_DST.set(config::one_of("addr", &["src", "dst"], 0)? == 1);
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    let addr = if USE_DST.get() {
        pkt.dst_addr()
    } else {
        pkt.src_addr()
    };
    let Some(addr) = addr else {
        return Verdict::Accept;
    };
    if DENY.with(|deny| deny.contains(addr)) {
        return Verdict::Drop;
    }
    let allowed = !HAS_ALLOW.get() || ALLOW.with(|allow| allow.contains(addr));
    if allowed {
        Verdict::Accept
    } else {
        Verdict::Drop
    }
}

entry!(filter, init = init);
