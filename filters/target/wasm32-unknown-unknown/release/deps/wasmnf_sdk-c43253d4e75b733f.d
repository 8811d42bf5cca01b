/work/main/filters/target/wasm32-unknown-unknown/release/deps/wasmnf_sdk-c43253d4e75b733f.d: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/libwasmnf_sdk-c43253d4e75b733f.rlib: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/libwasmnf_sdk-c43253d4e75b733f.rmeta: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

sdk/src/lib.rs:
sdk/src/config.rs:
sdk/src/list.rs:
sdk/src/net.rs:
sdk/src/packet.rs:
sdk/src/state.rs:
sdk/src/sys.rs:
