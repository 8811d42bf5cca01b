//! Capture parsing: any bytes as a pcap/pcapng file through libpcap and the
//! link-layer stripping `replay` does, and any frame under every link type
//! it knows: an error or frames, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pcap::Linktype;
use wasmnf_ctl::capture::Frames;
use wasmnf_engine::Hook;

fuzz_target!(|data: &[u8]| {
    for linktype in [1, 12, 14, 101, 113, 228, 229, 276] {
        let mut frames = Frames::new(Linktype(linktype));
        frames.push(0, data, data.len() as u32);
        for f in &frames.frames {
            let _ = frames.packet(f, Hook::Prerouting);
        }
    }
    let path = std::env::temp_dir().join(format!("wasmnf-fuzz-capture-{}", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        if let Ok(frames) = Frames::read(&path) {
            for f in &frames.frames {
                let _ = frames.packet(f, Hook::Prerouting);
            }
        }
        let _ = std::fs::remove_file(&path);
    }
});
