/work/main/filters/target/wasm32-unknown-unknown/release/deps/wasmnf_sdk-57b3e5739902755b.d: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/libwasmnf_sdk-57b3e5739902755b.rlib: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

/work/main/filters/target/wasm32-unknown-unknown/release/deps/libwasmnf_sdk-57b3e5739902755b.rmeta: sdk/src/lib.rs sdk/src/config.rs sdk/src/list.rs sdk/src/net.rs sdk/src/packet.rs sdk/src/state.rs sdk/src/sys.rs

sdk/src/lib.rs:
sdk/src/config.rs:
sdk/src/list.rs:
sdk/src/net.rs:
sdk/src/packet.rs:
sdk/src/state.rs:
sdk/src/sys.rs:
