//! The configuration codec: what the kernel decodes from a netlink message
//! (`FilterConfig::decode`) never panics, and what it accepts re-encodes to
//! the same configuration; `--config` entries parse the same way.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wasmnf_engine::FilterConfig;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = FilterConfig::decode(data) {
        let again = FilterConfig::decode(config.encode().as_bytes()).expect("re-decodes");
        assert_eq!(config.encode(), again.encode());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(config) = FilterConfig::from_entries(text.split('\n')) {
            for (k, v) in config.iter() {
                assert_eq!(config.get(k), Some(v));
            }
        }
    }
});
