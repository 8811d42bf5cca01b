//! Resource limits of one filter: defaults and the largest values a loader
//! may ask for. The engine enforces them (`wasmnf_engine::Limits`), the
//! kernel module's netlink policy repeats them as ranges (from here), and
//! `docs/abi.md` and `docs/netlink.md` state them (checked by a test).

/// Largest module accepted, in bytes.
pub const MODULE_SIZE_MAX: usize = 1 << 20;
/// Default limit on linear memory, in 64 KiB pages.
pub const MEMORY_PAGES_DEFAULT: u32 = 16;
/// Hard limit on linear memory, in 64 KiB pages.
pub const MEMORY_PAGES_MAX: u32 = 256;
/// Default fuel per packet (roughly one unit per Wasm instruction).
pub const FUEL_DEFAULT: u64 = 100_000;
/// Largest fuel per packet a filter may ask for.
pub const FUEL_MAX: u64 = 10_000_000;
/// Default and maximum Wasm call depth.
pub const CALL_DEPTH_DEFAULT: u32 = 64;
/// Hard limit on Wasm call depth.
pub const CALL_DEPTH_MAX: u32 = 1024;
/// Size of each instance's value stack, in bytes.
pub const VALUE_STACK_BYTES: usize = 64 * 1024;
/// Largest function table, in elements.
pub const TABLE_ELEMENTS_MAX: u32 = 4096;
