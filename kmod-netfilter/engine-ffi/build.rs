//! Compiles the self-test filters (selftest/*.wat) to Wasm bytes that the
//! crate embeds with `include_bytes!`.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    for name in ["drop_udp_8080", "spin", "hostcalls", "unsupported"] {
        let src = format!("selftest/{name}.wat");
        println!("cargo:rerun-if-changed={src}");
        let wasm = wat::parse_file(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        fs::write(out.join(format!("{name}.wasm")), wasm).expect("write wasm");
    }
}
