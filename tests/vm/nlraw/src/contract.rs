//! The contract crate (`common/`, `wasmnf-common`) included by source: this
//! tool has no dependencies, and sends the kernel module exactly the
//! numbers the module itself compiles.

#[allow(dead_code)]
#[path = "../../../../common/src/genl.rs"]
pub mod genl;

#[allow(dead_code)]
#[path = "../../../../common/src/limits.rs"]
pub mod limits;

#[allow(dead_code)]
#[path = "../../../../common/src/counters.rs"]
pub mod counters;

#[allow(dead_code)]
#[path = "../../../../common/src/ffi.rs"]
pub mod ffi;

#[allow(dead_code)]
#[path = "../../../../common/src/maps.rs"]
pub mod maps;
