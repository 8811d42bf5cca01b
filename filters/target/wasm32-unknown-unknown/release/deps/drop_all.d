/work/main/filters/target/wasm32-unknown-unknown/release/deps/drop_all.d: drop_all/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/drop_all.wasm: drop_all/src/lib.rs

drop_all/src/lib.rs:
