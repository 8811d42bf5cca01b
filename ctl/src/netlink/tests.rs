//! Encoding and decoding without a kernel: messages are checked against bytes
//! built by hand here, not by the code under test.

use super::consts::{attr, cmd, CHUNK_MAX, STATS_PAD};
use super::*;
use netlink_packet_core::{NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTIPART};
use wasmnf_common::counters::{Counter, Counters};
use wasmnf_engine::{FilterConfig, Hook, OnError};

/// One attribute, padded to 4 bytes.
fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// A netlink message: header, then `payload`.
fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

/// Walks attributes by hand: (kind, value) pairs.
fn walk(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let kind = u16::from_ne_bytes([buf[2], buf[3]]);
        assert!(len >= 4 && len <= buf.len(), "attribute length {len}");
        out.push((kind, &buf[4..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn load_of_a_1_mib_module_is_split_into_ordered_chunks() {
    let wasm: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 + i / 251) as u8).collect();
    let config = FilterConfig::from_entries(["port=8080", "proto=tcp"]).unwrap();
    let req = LoadRequest {
        name: "web",
        settings: Settings {
            hook: Hook::Input,
            family: HookFamily::Ipv6,
            priority: -150,
            fuel: 5000,
            memory_pages: 32,
            on_error: OnError::Drop,
        },
        config: &config,
        wasm: &wasm,
        replace: true,
        map_memory: None,
        reset_maps: false,
        maps: &[],
    };
    let bytes = encode(Message::load(&req), 0x1234, NLM_F_ACK, 7);

    let len = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len());
    assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), 0x1234);
    assert_eq!(
        u16::from_ne_bytes([bytes[6], bytes[7]]),
        NLM_F_REQUEST | NLM_F_ACK
    );
    assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 7);
    assert_eq!(&bytes[16..20], &[cmd::LOAD, 1, 0, 0], "genlmsghdr");

    let attrs = walk(&bytes[20..]);
    let chunks: Vec<&[u8]> = attrs
        .iter()
        .filter(|(k, _)| *k == attr::WASM_CHUNK)
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(chunks.len(), (1usize << 20).div_ceil(CHUNK_MAX));
    assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK_MAX));
    assert_eq!(chunks.concat(), wasm, "chunks concatenate to the module");
    // The chunks are contiguous in the message, as the module reassembles them.
    let first = attrs
        .iter()
        .position(|(k, _)| *k == attr::WASM_CHUNK)
        .unwrap();
    assert!(attrs[first..first + chunks.len()]
        .iter()
        .all(|(k, _)| *k == attr::WASM_CHUNK));

    let get = |kind| {
        attrs
            .iter()
            .find(|(k, _)| *k == kind)
            .unwrap_or_else(|| panic!("attribute {kind} missing"))
            .1
    };
    assert_eq!(get(attr::NAME), b"web\0");
    assert_eq!(get(attr::HOOK), 1u32.to_ne_bytes());
    assert_eq!(get(attr::FAMILY), 10u32.to_ne_bytes());
    assert_eq!(get(attr::PRIORITY), (-150i32).to_ne_bytes());
    assert_eq!(get(attr::FUEL), 5000u64.to_ne_bytes());
    assert_eq!(get(attr::MEMORY_PAGES), 32u32.to_ne_bytes());
    assert_eq!(get(attr::ON_ERROR), [1]);
    assert_eq!(get(attr::CONFIG), b"port=8080\nproto=tcp");
    assert_eq!(get(attr::REPLACE), b"");
}

#[test]
fn a_small_load_has_one_chunk_no_config_and_no_replace() {
    let config = FilterConfig::default();
    let req = LoadRequest {
        name: "a",
        settings: Settings {
            hook: Hook::Prerouting,
            family: HookFamily::Inet,
            priority: 0,
            fuel: 100_000,
            memory_pages: 16,
            on_error: OnError::Accept,
        },
        config: &config,
        wasm: b"\0asm\x01\0\0\0",
        replace: false,
        map_memory: None,
        reset_maps: false,
        maps: &[],
    };
    let bytes = encode(Message::load(&req), 30, NLM_F_ACK, 1);
    let kinds: Vec<u16> = walk(&bytes[20..]).iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            attr::NAME,
            attr::HOOK,
            attr::FAMILY,
            attr::PRIORITY,
            attr::FUEL,
            attr::MEMORY_PAGES,
            attr::ON_ERROR,
            attr::WASM_CHUNK
        ]
    );
    assert_eq!(walk(&bytes[20..])[2].1, 1u32.to_ne_bytes(), "inet is 1");
}

#[test]
fn unload_and_get_requests() {
    let unload = encode(Message::unload("web"), 30, NLM_F_ACK, 2);
    assert_eq!(&unload[16..20], &[cmd::UNLOAD, 1, 0, 0]);
    assert_eq!(walk(&unload[20..]), [(attr::NAME, &b"web\0"[..])]);
    let dump = encode(Message::get(None), 30, NLM_F_DUMP, 3);
    assert_eq!(
        u16::from_ne_bytes([dump[6], dump[7]]),
        NLM_F_REQUEST | NLM_F_DUMP
    );
    assert_eq!(&dump[16..20], &[cmd::GET, 1, 0, 0]);
    assert_eq!(dump.len(), 20, "a dump carries no attributes");
}

/// A GET reply as the module builds it: 64-bit values aligned with PAD
/// attributes (`nla_put_u64_64bit`), STATS nested, and an attribute from a
/// newer module that must be ignored.
fn get_reply(seq: u32, name: &str, packets: u64) -> Vec<u8> {
    let mut counters = tlv(STATS_PAD, b"");
    for (kind, v) in [
        (Counter::Packets, packets),
        (Counter::Accepted, 900),
        (Counter::Dropped, 95),
        (Counter::Traps, 3),
        (Counter::OutOfFuel, 1),
        (Counter::InvalidVerdicts, 1),
        (Counter::RunNs, 812_000),
    ] {
        counters.extend(tlv(kind.attr(), &v.to_ne_bytes()));
    }
    let mut name0 = name.as_bytes().to_vec();
    name0.push(0);
    let mut p = vec![cmd::GET, 1, 0, 0];
    p.extend(tlv(attr::NAME, &name0));
    p.extend(tlv(attr::HOOK, &3u32.to_ne_bytes()));
    p.extend(tlv(attr::FAMILY, &2u32.to_ne_bytes()));
    p.extend(tlv(attr::PRIORITY, &(-5i32).to_ne_bytes()));
    p.extend(tlv(attr::PAD, b""));
    p.extend(tlv(attr::FUEL, &250_000u64.to_ne_bytes()));
    p.extend(tlv(attr::MEMORY_PAGES, &8u32.to_ne_bytes()));
    p.extend(tlv(attr::ON_ERROR, &[1]));
    p.extend(tlv(attr::CONFIG, b"port=53\nproto=udp"));
    p.extend(tlv(attr::WASM_SIZE, &4321u32.to_ne_bytes()));
    p.extend(tlv(attr::INSTANCES, &2u32.to_ne_bytes()));
    p.extend(tlv(attr::ABI_VERSION, &1u32.to_ne_bytes()));
    p.extend(tlv(99, b"future"));
    p.extend(tlv(attr::STATS | 0x8000, &counters));
    nlmsg(0x1234, NLM_F_MULTIPART, seq, &p)
}

fn parse(bytes: &[u8]) -> NetlinkMessage<GenlMessage<Message>> {
    NetlinkMessage::deserialize(bytes).expect("parses")
}

#[test]
fn get_reply_parses_into_filter_info() {
    let bytes = get_reply(9, "dns", 1000);
    let msg = parse(&bytes);
    assert_eq!(msg.header.sequence_number, 9);
    let NetlinkPayload::InnerMessage(genl) = msg.payload else {
        panic!("not a wasmnf message")
    };
    let info = FilterInfo::from_message(&genl.payload).unwrap();
    assert_eq!(info.name, "dns");
    assert_eq!(
        info.settings,
        Settings {
            hook: Hook::Output,
            family: HookFamily::Ipv4,
            priority: -5,
            fuel: 250_000,
            memory_pages: 8,
            on_error: OnError::Drop,
        }
    );
    assert_eq!(
        info.config.iter().collect::<Vec<_>>(),
        [("port", "53"), ("proto", "udp")]
    );
    assert_eq!(
        (info.wasm_size, info.instances, info.abi_version),
        (4321, 2, 1)
    );
    assert_eq!(
        info.stats,
        Counters {
            packets: 1000,
            accepted: 900,
            dropped: 95,
            traps: 3,
            out_of_fuel: 1,
            invalid_verdicts: 1,
            run_ns: 812_000,
        }
    );
    assert_eq!(info.stats.ns_per_packet(), Some(812));
    assert_eq!(Counters::default().ns_per_packet(), None);
}

#[test]
fn a_reply_missing_required_attributes_is_an_error() {
    let mut p = vec![cmd::GET, 1, 0, 0];
    p.extend(tlv(attr::NAME, b"x\0"));
    let msg = parse(&nlmsg(0x1234, 0, 1, &p));
    let NetlinkPayload::InnerMessage(genl) = msg.payload else {
        panic!()
    };
    let err = FilterInfo::from_message(&genl.payload).unwrap_err();
    assert!(err.to_string().contains("HOOK"), "{err}");
}

#[test]
fn a_multipart_dump_datagram_splits_into_messages_until_done() {
    let mut datagram = get_reply(4, "a", 1);
    datagram.extend(get_reply(4, "bb", 2));
    datagram.extend(nlmsg(
        3, /* NLMSG_DONE */
        NLM_F_MULTIPART,
        4,
        &0i32.to_ne_bytes(),
    ));
    let msgs: Vec<_> = split(&datagram).map(|m| parse(m.unwrap())).collect();
    assert_eq!(msgs.len(), 3);
    let names: Vec<String> = msgs[..2]
        .iter()
        .map(|m| match &m.payload {
            NetlinkPayload::InnerMessage(g) => FilterInfo::from_message(&g.payload).unwrap().name,
            _ => panic!("expected a filter"),
        })
        .collect();
    assert_eq!(names, ["a", "bb"]);
    assert!(matches!(msgs[2].payload, NetlinkPayload::Done(ref d) if d.code == 0));
}

#[test]
fn ext_ack_is_found_in_capped_and_full_errors() {
    let tlvs = [
        tlv(2 /* OFFS */, &20u32.to_ne_bytes()),
        tlv(
            1, /* NLMSGERR_ATTR_MSG */
            b"a filter named web is already loaded\0",
        ),
    ]
    .concat();
    // Capped: the request's header only, whatever its length says.
    let mut capped = nlmsg(0x1234, 0, 5, &[]);
    capped[0..4].copy_from_slice(&1_048_700u32.to_ne_bytes());
    capped.extend(&tlvs);
    assert_eq!(
        ext_ack_in_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &capped).as_deref(),
        Some("a filter named web is already loaded")
    );
    // Not capped: the whole request (6 bytes of payload, padded) is echoed.
    let mut full = nlmsg(0x1234, 0, 5, &[1, 2, 3, 4, 5, 6]);
    full.extend([0, 0]);
    full.extend(&tlvs);
    assert_eq!(
        ext_ack_in_error(NLM_F_ACK_TLVS, &full).as_deref(),
        Some("a filter named web is already loaded")
    );
    assert_eq!(
        ext_ack_in_error(NLM_F_CAPPED, &capped),
        None,
        "no TLVs flag"
    );
    assert_eq!(ext_ack_in_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &[]), None);
}

#[test]
fn a_kernel_error_parses_with_its_ext_ack() {
    let mut payload = (-libc::EEXIST).to_ne_bytes().to_vec();
    payload.extend(nlmsg(0x1234, NLM_F_REQUEST | NLM_F_ACK, 5, &[]));
    payload.extend(tlv(1, b"a filter named web is already loaded\0"));
    let bytes = nlmsg(
        2, /* NLMSG_ERROR */
        NLM_F_CAPPED | NLM_F_ACK_TLVS,
        5,
        &payload,
    );
    let msg = parse(&bytes);
    let NetlinkPayload::Error(e) = msg.payload else {
        panic!("not an error")
    };
    assert_eq!(e.code.map(|c| -c.get()), Some(libc::EEXIST));
    let err = Error::Kernel {
        op: Op::Load { name: "web".into() },
        errno: libc::EEXIST,
        ext_ack: ext_ack_in_error(msg.header.flags, &e.header),
    };
    assert_eq!(
        err.to_string(),
        "a filter named web is already loaded; use --replace to swap it \
         (kernel: a filter named web is already loaded)"
    );
}

#[test]
fn errnos_map_to_specific_messages() {
    let load = Op::Load { name: "web".into() };
    let unload = Op::Unload { name: "web".into() };
    assert_eq!(
        describe(&load, libc::EPERM),
        "permission denied: loading filters needs CAP_NET_ADMIN (run as root)"
    );
    assert_eq!(
        describe(&load, libc::EEXIST),
        "a filter named web is already loaded; use --replace to swap it"
    );
    assert_eq!(describe(&unload, libc::ENOENT), "no filter named web");
    assert_eq!(
        describe(
            &Op::Get {
                name: Some("dns".into())
            },
            libc::ENOENT
        ),
        "no filter named dns"
    );
    assert!(describe(&unload, libc::EPERM).contains("CAP_NET_ADMIN"));
    assert!(describe(&Op::Get { name: None }, libc::EPERM).contains("CAP_NET_ADMIN"));
    assert!(describe(&load, libc::E2BIG).contains("1048576"));
    assert!(describe(&load, libc::EOPNOTSUPP).contains("does not run web"));
    assert!(describe(&load, libc::ECANCELED).contains("init failed"));
    let refusal = |errno| Error::Kernel {
        op: Op::Load { name: "web".into() },
        errno,
        ext_ack: None,
    };
    assert!(refusal(libc::EOPNOTSUPP).refused_filter());
    assert!(refusal(libc::ECANCELED).refused_filter());
    assert!(!refusal(libc::E2BIG).refused_filter());
    assert!(!refusal(libc::EINVAL).refused_filter());
    // The contract's errno numbers are libc's.
    use wasmnf_common::ffi::refusal::errno;
    assert_eq!(
        [
            errno::EINVAL,
            errno::EOPNOTSUPP,
            errno::E2BIG,
            errno::ECANCELED,
            errno::ENOMEM
        ],
        [
            libc::EINVAL,
            libc::EOPNOTSUPP,
            libc::E2BIG,
            libc::ECANCELED,
            libc::ENOMEM
        ]
    );
    assert_eq!(
        describe(&load, libc::EINVAL),
        "the kernel refused to load web: Invalid argument"
    );
    assert_eq!(
        Error::ModuleNotLoaded.to_string(),
        "the wasmnf kernel module is not loaded; load it with `insmod wasmnf.ko` \
         (see docs/kernel.md)"
    );
    let no_ext = Error::Kernel {
        op: unload,
        errno: libc::ENOENT,
        ext_ack: None,
    };
    assert_eq!(no_ext.to_string(), "no filter named web");
}

#[test]
fn names_and_families() {
    assert!(valid_name("web-v1.2_x"));
    assert!(valid_name(&"a".repeat(31)));
    assert!(!valid_name(&"a".repeat(32)));
    assert!(!valid_name(""));
    assert!(!valid_name("my filter"));
    assert!(!valid_name("ü"));
    for f in HookFamily::ALL {
        assert_eq!(HookFamily::from_u32(f.to_u32()), Some(f));
        assert_eq!(HookFamily::from_name(f.name()), Some(f));
    }
    assert_eq!(
        [HookFamily::Inet, HookFamily::Ipv4, HookFamily::Ipv6].map(HookFamily::to_u32),
        [1, 2, 10]
    );
}

// The real kernel's generic-netlink controller, which every Linux has: the
// socket, request, reply, ack and dump paths without the wasmnf module.

#[test]
fn the_controller_resolves_itself_and_reports_missing_families() {
    let mut client = Client::open().expect("generic netlink socket");
    assert_eq!(client.family_id("nlctrl").unwrap(), Some(GENL_ID_CTRL));
    assert_eq!(client.family_id("nosuchfamily").unwrap(), None);
    // Requests after a nack still pair up with their own replies.
    assert_eq!(client.family_id("nlctrl").unwrap(), Some(GENL_ID_CTRL));
}

#[test]
fn a_controller_dump_is_read_until_done() {
    let mut client = Client::open().expect("generic netlink socket");
    let request = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![],
    };
    let replies = client
        .transact(request, GENL_ID_CTRL, NLM_F_DUMP)
        .expect("dump");
    let names: Vec<&str> = replies
        .messages
        .iter()
        .flat_map(|m| &m.nlas)
        .filter_map(|a| match a {
            GenlCtrlAttrs::FamilyName(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    assert!(names.contains(&"nlctrl"), "{names:?}");
    assert_eq!(
        names.len(),
        replies.messages.len(),
        "one family per message"
    );
}

/// Whether this process has CAP_NET_ADMIN (bit 12 of CapEff).
fn has_net_admin() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|hex| u64::from_str_radix(hex.trim(), 16).unwrap())
        .unwrap();
    caps & (1 << 12) != 0
}

#[test]
fn a_large_request_raises_the_send_buffer() {
    // A 1 MiB nlctrl request: nlctrl rejects it (its names are too long),
    // but only after the whole message was sent, which the default send
    // buffer (about 200 KiB) does not allow. Without CAP_NET_ADMIN the
    // buffer cannot grow past net.core.wmem_max, and the error says so.
    let mut client = Client::open().expect("generic netlink socket");
    let request = GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName("x".repeat(60_000)); 18],
    };
    match client.transact(request, GENL_ID_CTRL, NLM_F_ACK) {
        Err(TxError::Nack(n)) if has_net_admin() => assert_eq!(n.errno, libc::EINVAL),
        Err(TxError::Other(e @ Error::Send { .. })) if !has_net_admin() => {
            assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
