//! Rate-limits ICMP and ICMPv6 per source address with a token bucket.
//! Config: `rate=N` packets per second per source (default 10), `burst=N`
//! (default 2×rate). Other traffic passes. Time is the packet's timestamp
//! (monotonic in the kernel, capture time in replay). State is per instance
//! (per CPU in the kernel): 1024 sources, a new source evicting the one in its
//! slot.
#![no_std]
use core::net::IpAddr;
use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};

const SLOTS: usize = 1024;

#[derive(Clone, Copy)]
struct Bucket {
    src: Option<IpAddr>,
    /// Tokens in millionths, so refill needs no floats.
    micro_tokens: u64,
    last_ns: u64,
}

const EMPTY: Bucket = Bucket {
    src: None,
    micro_tokens: 0,
    last_ns: 0,
};

static TABLE: State<[Bucket; SLOTS]> = State::new([EMPTY; SLOTS]);
static RATE: State<u64> = State::new(10);
static BURST: State<u64> = State::new(20);

fn init() -> Result<(), InitError> {
    let rate: u64 = config::get_or("rate", 10)?;
    if rate == 0 || rate > 1_000_000 {
        return Err(InitError::Invalid("rate"));
    }
    let burst: u64 = config::get_or("burst", rate * 2)?;
    if burst == 0 || burst > 1_000_000 {
        return Err(InitError::Invalid("burst"));
    }
    RATE.set(rate);
    BURST.set(burst);
    Ok(())
}

fn slot(addr: IpAddr) -> usize {
    // FNV-1a over the address bytes.
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
    };
    match addr {
        IpAddr::V4(a) => mix(&a.octets()),
        IpAddr::V6(a) => mix(&a.octets()),
    }
    h as usize % SLOTS
}

fn filter(pkt: &Packet) -> Verdict {
    if pkt.icmp().is_none() {
        return Verdict::Accept;
    }
    let Some(ip) = pkt.ip() else {
        return Verdict::Accept;
    };
    let now = pkt.ctx().tstamp_ns;
    let (rate, burst) = (RATE.get(), BURST.get());
    let full = burst * 1_000_000;
    TABLE.with(|table| {
        let b = &mut table[slot(ip.src)];
        if b.src != Some(ip.src) {
            *b = Bucket {
                src: Some(ip.src),
                micro_tokens: full,
                last_ns: now,
            };
        } else {
            // rate tokens per second = rate millionths per microsecond.
            let elapsed_us = now.saturating_sub(b.last_ns) / 1000;
            b.micro_tokens = b
                .micro_tokens
                .saturating_add(elapsed_us.saturating_mul(rate))
                .min(full);
            b.last_ns = now;
        }
        if b.micro_tokens >= 1_000_000 {
            b.micro_tokens -= 1_000_000;
            Verdict::Accept
        } else {
            Verdict::Drop
        }
    })
}

entry!(filter, init = init);
