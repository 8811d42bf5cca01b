/work/main/filters/target/wasm32-unknown-unknown/release/deps/icmp_ratelimit.d: icmp_ratelimit/src/lib.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/icmp_ratelimit.wasm: icmp_ratelimit/src/lib.rs

icmp_ratelimit/src/lib.rs:
