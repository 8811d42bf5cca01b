/work/main/filters/target/wasm32-unknown-unknown/release/deps/cidr_filter.d: cidr_filter/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/cidr_filter.wasm: cidr_filter/src/lib.rs

cidr_filter/src/lib.rs:
