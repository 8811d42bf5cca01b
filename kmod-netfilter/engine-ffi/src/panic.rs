//! The panic handler. The engine must never panic (validation and execution
//! failures are values); if it does anyway, this reports it loudly through
//! the module (`pr_emerg`) and stops there: the callback never returns.

use crate::text::BufWriter;
use core::fmt::Write;
use core::panic::PanicInfo;

extern "C" {
    /// Logs `msg` with `pr_emerg` and does not return (the module calls
    /// `BUG()`). Declared as returning so that the `ud2` after the call ends
    /// the function for objtool, which does not know this callback is
    /// `noreturn` (it would report the handler falling through).
    fn wasmnf_kmod_engine_panic(msg: *const u8, len: usize);
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut buf = [0u8; 256];
    let mut w = BufWriter::new(&mut buf);
    let _ = match info.location() {
        Some(loc) => write!(w, "{}:{}: {}", loc.file(), loc.line(), info.message()),
        None => write!(w, "{}", info.message()),
    };
    let len = w.len();
    // SAFETY: `buf[..len]` is initialised and outlives the call.
    unsafe { wasmnf_kmod_engine_panic(buf.as_ptr(), len) };
    // SAFETY: `ud2` raises #UD, the kernel's BUG trap; it is only reached if
    // the callback returned, which it never does (it calls `BUG()`).
    unsafe { core::arch::asm!("ud2", options(noreturn, nomem, nostack)) }
}
