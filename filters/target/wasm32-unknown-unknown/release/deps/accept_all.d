/work/main/filters/target/wasm32-unknown-unknown/release/deps/accept_all.d: accept_all/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/accept_all.wasm: accept_all/src/lib.rs

accept_all/src/lib.rs:
