/work/main/filters/target/wasm32-unknown-unknown/release/deps/drop_port.d: drop_port/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/drop_port.wasm: drop_port/src/lib.rs

drop_port/src/lib.rs:
