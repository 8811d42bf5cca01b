/work/main/filters/target/wasm32-unknown-unknown/release/deps/dns_block.d: dns_block/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/dns_block.wasm: dns_block/src/lib.rs

dns_block/src/lib.rs:
