/work/main/filters/target/wasm32-unknown-unknown/release/deps/syn_flood.d: syn_flood/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/syn_flood.wasm: syn_flood/src/lib.rs

syn_flood/src/lib.rs:
