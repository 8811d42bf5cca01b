//! Captures in memory: every frame of a pcap or pcapng file read through
//! libpcap, with its network layer located, so replay and benchmarks time the
//! engine and not the disk.

use pcap::{Capture, Linktype, Precision};
use std::fmt;
use std::path::{Path, PathBuf};
use wasmnf_engine::{Ctx, Family, Hook};

/// Link types whose network layer replay can find.
pub const SUPPORTED: &[(i32, &str)] = &[
    (1, "EN10MB (Ethernet, with 802.1Q/802.1ad tags)"),
    (
        12,
        "RAW (raw IPv4/IPv6, as libpcap reports LINKTYPE_RAW on Linux)",
    ),
    (101, "RAW (raw IPv4/IPv6)"),
    (113, "LINUX_SLL (Linux cooked v1)"),
    (228, "IPV4 (raw IPv4)"),
    (229, "IPV6 (raw IPv6)"),
    (276, "LINUX_SLL2 (Linux cooked v2)"),
];

/// Why a capture could not be used.
#[derive(Debug)]
pub enum CaptureError {
    /// libpcap could not open it (missing, unreadable, not a capture).
    Open(PathBuf, String),
    /// libpcap failed part-way (e.g. a truncated file).
    Read(PathBuf, usize, String),
    /// A link type this tool cannot strip.
    Linktype(PathBuf, i32, String),
    /// Writing an output capture failed.
    Write(PathBuf, String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Open(p, e) => write!(f, "cannot read capture {}: {e}", p.display()),
            CaptureError::Read(p, n, e) => write!(
                f,
                "capture {} is damaged after {n} packets: {e}; nothing was replayed",
                p.display()
            ),
            CaptureError::Linktype(p, lt, name) => {
                write!(
                    f,
                    "capture {} has link type {lt} ({name}), which replay cannot strip; supported: ",
                    p.display()
                )?;
                let names: Vec<&str> = SUPPORTED.iter().map(|(_, n)| *n).collect();
                f.write_str(&names.join(", "))
            }
            CaptureError::Write(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for CaptureError {}

/// One frame: where its bytes are in [`Frames::data`] and where its network
/// layer starts, if it is IPv4 or IPv6.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Capture timestamp in nanoseconds since the epoch.
    pub ts_ns: u64,
    /// Offset of the frame in [`Frames::data`].
    pub start: usize,
    /// Captured length.
    pub caplen: usize,
    /// Length on the wire.
    pub wire_len: u32,
    /// The network layer: offset from the frame start and family.
    pub net: Option<(usize, Family)>,
}

/// All frames of a capture, their bytes in one contiguous buffer.
pub struct Frames {
    /// The capture's link type.
    pub linktype: Linktype,
    /// The frames in capture order.
    pub frames: Vec<Frame>,
    /// Every frame's bytes, back to back.
    pub data: Vec<u8>,
}

impl Frames {
    /// An empty set of frames of `linktype`.
    pub fn new(linktype: Linktype) -> Self {
        Frames {
            linktype,
            frames: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Appends a frame; locates its network layer from the link type.
    pub fn push(&mut self, ts_ns: u64, bytes: &[u8], wire_len: u32) {
        let net = network_layer(self.linktype.0, bytes);
        self.frames.push(Frame {
            ts_ns,
            start: self.data.len(),
            caplen: bytes.len(),
            wire_len,
            net,
        });
        self.data.extend_from_slice(bytes);
    }

    /// The whole frame (with its link layer).
    pub fn bytes(&self, f: &Frame) -> &[u8] {
        &self.data[f.start..f.start + f.caplen]
    }

    /// The frame from its network header on, and its family, if IP.
    pub fn network(&self, f: &Frame) -> Option<(&[u8], Family)> {
        let (off, family) = f.net?;
        Some((&self.bytes(f)[off..], family))
    }

    /// The packet a hook at `hook` sees for frame `f`, with its context
    /// (family, capture time as the timestamp), if the frame is IP.
    pub fn packet(&self, f: &Frame, hook: Hook) -> Option<(&[u8], Ctx)> {
        let (pkt, family) = self.network(f)?;
        let ctx = Ctx {
            hook,
            family,
            tstamp_ns: f.ts_ns,
            ..Ctx::default()
        };
        Some((pkt, ctx))
    }

    /// Reads every frame of the pcap or pcapng file at `path`.
    pub fn read(path: &Path) -> Result<Frames, CaptureError> {
        let mut cap = Capture::from_file_with_precision(path, Precision::Nano)
            .map_err(|e| CaptureError::Open(path.into(), e.to_string()))?;
        let linktype = cap.get_datalink();
        if !SUPPORTED.iter().any(|(lt, _)| *lt == linktype.0) {
            let name = linktype.get_name().unwrap_or_else(|_| "unknown".into());
            return Err(CaptureError::Linktype(path.into(), linktype.0, name));
        }
        let mut frames = Frames::new(linktype);
        loop {
            match cap.next_packet() {
                Ok(p) => {
                    let ts = p.header.ts;
                    let ts_ns = (ts.tv_sec as u64)
                        .wrapping_mul(1_000_000_000)
                        .wrapping_add(ts.tv_usec as u64);
                    frames.push(ts_ns, p.data, p.header.len);
                }
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => {
                    return Err(CaptureError::Read(
                        path.into(),
                        frames.frames.len(),
                        e.to_string(),
                    ))
                }
            }
        }
        Ok(frames)
    }

    /// Writes the frames for which `keep` is true to a pcap file at `path`,
    /// through a temporary file renamed into place: `path` is either a
    /// complete capture or untouched.
    pub fn write(&self, path: &Path, keep: impl Fn(usize) -> bool) -> Result<usize, CaptureError> {
        let err = |e: String| CaptureError::Write(path.into(), e);
        let tmp = path.with_extension("pcap.partial");
        let dead = Capture::dead_with_precision(self.linktype, Precision::Nano)
            .map_err(|e| err(e.to_string()))?;
        let mut out = dead.savefile(&tmp).map_err(|e| err(e.to_string()))?;
        let mut written = 0;
        for (_, f) in self.frames.iter().enumerate().filter(|(i, _)| keep(*i)) {
            let header = pcap::PacketHeader {
                ts: libc_timeval(f.ts_ns),
                caplen: f.caplen as u32,
                len: f.wire_len,
            };
            out.write(&pcap::Packet::new(&header, self.bytes(f)));
            written += 1;
        }
        let flushed = out.flush().map_err(|e| err(e.to_string()));
        drop(out);
        if let Err(e) =
            flushed.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| err(e.to_string())))
        {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(written)
    }
}

fn libc_timeval(ns: u64) -> libc::timeval {
    libc::timeval {
        tv_sec: (ns / 1_000_000_000) as _,
        // With nanosecond precision, libpcap keeps nanoseconds in tv_usec.
        tv_usec: (ns % 1_000_000_000) as _,
    }
}

/// Finds the IPv4/IPv6 header in a frame of link type `linktype`.
pub fn network_layer(linktype: i32, frame: &[u8]) -> Option<(usize, Family)> {
    let be16 = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    // A frame cut inside its link header has no network layer (a capture's
    // snap length can cut anywhere: found by the `capture` fuzz target).
    let by_ethertype = |ethertype: u16, off: usize| match ethertype {
        _ if off > frame.len() => None,
        0x0800 => Some((off, Family::Ipv4)),
        0x86dd => Some((off, Family::Ipv6)),
        _ => None,
    };
    match linktype {
        // Ethernet: skip up to four 802.1Q/802.1ad/QinQ tags.
        1 => {
            let mut off = 12;
            for _ in 0..4 {
                match be16(off)? {
                    0x8100 | 0x88a8 | 0x9100 => off += 4,
                    ethertype => return by_ethertype(ethertype, off + 2),
                }
            }
            None
        }
        113 => by_ethertype(be16(14)?, 16),
        276 => by_ethertype(be16(0)?, 20),
        12 | 101 => match frame.first()? >> 4 {
            4 => Some((0, Family::Ipv4)),
            6 => Some((0, Family::Ipv6)),
            _ => None,
        },
        228 => Some((0, Family::Ipv4)),
        229 => Some((0, Family::Ipv6)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4() -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 20];
        p.resize(20, 0);
        p
    }

    #[test]
    fn finds_the_network_layer_of_every_supported_link_type() {
        let ip = ipv4();
        let eth = |tags: &[u16], ethertype: u16| {
            let mut f = vec![0u8; 12];
            for t in tags {
                f.extend_from_slice(&t.to_be_bytes());
                f.extend_from_slice(&[0, 7]);
            }
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(&ip);
            f
        };
        assert_eq!(
            network_layer(1, &eth(&[], 0x0800)),
            Some((14, Family::Ipv4))
        );
        assert_eq!(
            network_layer(1, &eth(&[0x8100], 0x86dd)),
            Some((18, Family::Ipv6))
        );
        assert_eq!(
            network_layer(1, &eth(&[0x88a8, 0x8100], 0x0800)),
            Some((22, Family::Ipv4))
        );
        assert_eq!(network_layer(1, &eth(&[], 0x0806)), None, "ARP");
        assert_eq!(network_layer(1, &[0u8; 10]), None, "runt frame");
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(network_layer(113, &sll), Some((16, Family::Ipv6)));
        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.resize(20, 0);
        sll2.extend_from_slice(&ip);
        assert_eq!(network_layer(276, &sll2), Some((20, Family::Ipv4)));
        assert_eq!(network_layer(101, &ip), Some((0, Family::Ipv4)));
        assert_eq!(network_layer(12, &[0x60, 0, 0, 0]), Some((0, Family::Ipv6)));
        assert_eq!(network_layer(12, &[0x10]), None, "not IP");
        assert_eq!(network_layer(228, &[]), Some((0, Family::Ipv4)));
        assert_eq!(network_layer(229, &[]), Some((0, Family::Ipv6)));
        assert_eq!(network_layer(147, &ip), None, "unsupported link type");
    }

    #[test]
    fn sll2_captures_round_trip_through_libpcap() {
        let mut frames = Frames::new(Linktype(276));
        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.resize(20, 0);
        sll2.extend_from_slice(&ipv4());
        frames.push(1_000_000_123, &sll2, sll2.len() as u32);
        let path = std::env::temp_dir().join(format!("wasmnf-sll2-{}.pcap", std::process::id()));
        assert_eq!(frames.write(&path, |_| true).unwrap(), 1);
        let back = Frames::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.linktype.0, 276);
        assert_eq!(
            back.frames[0].ts_ns, 1_000_000_123,
            "nanosecond timestamps kept"
        );
        assert_eq!(
            back.network(&back.frames[0]).map(|(p, f)| (p.len(), f)),
            Some((20, Family::Ipv4))
        );
    }

    /// Found by the `capture` fuzz target: a 5-byte Linux SLL2 frame whose
    /// protocol field says IPv4 made `network()` slice past its end.
    #[test]
    fn a_frame_cut_in_its_link_header_has_no_network_layer() {
        let cut = [0x08, 0x00, 0x00, 0x00, 0x3a];
        assert_eq!(network_layer(276, &cut), None);
        let mut frames = Frames::new(Linktype(276));
        frames.push(0, &cut, 5);
        assert_eq!(frames.network(&frames.frames[0]), None);
        // The whole 20-byte header and nothing after it: an empty packet.
        let mut whole = [0u8; 20];
        whole[..2].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(network_layer(276, &whole), Some((20, Family::Ipv4)));
    }
}
