//! How a run ends: the verdict a packet gets, the status of the run, and
//! their form on the kernel's C interface (the contract's `ffi` codes).

use core::fmt;
use wasmnf_common::ffi;

/// What a packet's fate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The packet continues.
    Accept,
    /// The packet is dropped.
    Drop,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The filter returned a verdict.
    Ok,
    /// The filter trapped.
    Trap(TrapKind),
    /// The filter used up its fuel.
    OutOfFuel,
    /// The filter returned a value that is not a verdict.
    InvalidVerdict(i32),
}

/// Why a run trapped: the contract's list, with the codes that cross the
/// kernel's C interface.
pub use wasmnf_common::ffi::TrapKind;

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (status, detail) = self.to_ffi();
        ffi::StatusText { status, detail }.fmt(f)
    }
}

/// The result of one run: the verdict applied and how the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The packet's fate, after the failure policy.
    pub verdict: Verdict,
    /// How the run ended.
    pub status: Status,
}

impl Status {
    /// The status in the C interface's form: a [`ffi::status`] code and its
    /// detail (the trap code or the invalid verdict).
    pub fn to_ffi(self) -> (u32, i32) {
        match self {
            Status::Ok => (ffi::status::OK, 0),
            Status::Trap(kind) => (ffi::status::TRAP, kind.code()),
            Status::OutOfFuel => (ffi::status::OUT_OF_FUEL, 0),
            Status::InvalidVerdict(v) => (ffi::status::INVALID_VERDICT, v),
        }
    }

    /// The status from its C interface form ([`Status::to_ffi`]); an
    /// unknown code reads as an invalid verdict.
    pub fn from_ffi(status: u32, detail: i32) -> Status {
        match status {
            ffi::status::OK => Status::Ok,
            ffi::status::TRAP => Status::Trap(TrapKind::from_code(detail)),
            ffi::status::OUT_OF_FUEL => Status::OutOfFuel,
            _ => Status::InvalidVerdict(detail),
        }
    }
}

impl Verdict {
    /// The verdict as netfilter numbers it ([`ffi::verdict`]).
    pub fn to_ffi(self) -> u32 {
        match self {
            Verdict::Accept => ffi::verdict::ACCEPT,
            Verdict::Drop => ffi::verdict::DROP,
        }
    }
}

impl RunResult {
    /// The result in the C interface's form.
    pub fn to_ffi(&self) -> ffi::RunResult {
        let (status, detail) = self.status.to_ffi();
        ffi::RunResult {
            verdict: self.verdict.to_ffi(),
            status,
            detail,
        }
    }
}
