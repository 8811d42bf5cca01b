//! Counts TCP connection requests (SYN without ACK) and drops them once more
//! than `max=N` (default 100) arrive within `window_ms=N` (default 1000).
//! Other packets pass. The counter is per instance (per CPU in the kernel).
#![no_std]
use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};

#[derive(Clone, Copy)]
struct Window {
    start_ns: u64,
    syns: u64,
}

static MAX: State<u64> = State::new(100);
static WINDOW_NS: State<u64> = State::new(1_000_000_000);
static COUNT: State<Window> = State::new(Window {
    start_ns: 0,
    syns: 0,
});

fn init() -> Result<(), InitError> {
    MAX.set(config::get_or("max", 100)?);
    let ms: u64 = config::get_or("window_ms", 1000)?;
    if ms == 0 {
        return Err(InitError::Invalid("window_ms"));
    }
    WINDOW_NS.set(ms * 1_000_000);
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    if !pkt.tcp().is_some_and(|t| t.is_syn()) {
        return Verdict::Accept;
    }
    let now = pkt.ctx().tstamp_ns;
    let (max, window) = (MAX.get(), WINDOW_NS.get());
    COUNT.with(|w| {
        if w.syns == 0 || now.saturating_sub(w.start_ns) >= window {
            *w = Window {
                start_ns: now,
                syns: 0,
            };
        }
        w.syns += 1;
        if w.syns > max {
            Verdict::Drop
        } else {
            Verdict::Accept
        }
    })
}

entry!(filter, init = init);
