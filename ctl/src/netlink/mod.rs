//! A client for the module's `wasmnf` generic-netlink family (the contract is
//! `docs/netlink.md`), over the rust-netlink crates: `netlink-sys` for the
//! socket, `netlink-packet-core` and `netlink-packet-generic` for messages.
//!
//! [`Client::connect`] opens a socket with extended acks (`NETLINK_EXT_ACK`)
//! and capped acks (`NETLINK_CAP_ACK`: an error does not echo a 1 MiB load
//! back), and resolves the family; a missing family is
//! [`Error::ModuleNotLoaded`]. Requests are synchronous: each waits for its
//! ack, or for `NLMSG_DONE` for a dump.

pub mod consts;
mod error;
mod message;

pub use error::{describe, ext_ack_in_error, ext_ack_in_tlvs, Error, Op};
pub use message::{
    map_entry, valid_name, Attr, FilterInfo, HookFamily, LoadRequest, MapDesc, MapEntry, MapRows,
    Message, Settings, StatAttr,
};

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    ParseableParametrized, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_generic::constants::GENL_ID_CTRL;
use netlink_packet_generic::ctrl::{nlas::GenlCtrlAttrs, GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{traits::GenlFamily, GenlHeader, GenlMessage};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::fmt::Debug;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long to wait for the kernel's answer to one request.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests larger than this raise the socket's send buffer first.
const SNDBUF_DEFAULT: usize = 64 * 1024;
/// Dumps interrupted by a concurrent change (`NLM_F_DUMP_INTR`) are retried
/// this many times.
const DUMP_RETRIES: usize = 3;

/// The kernel's negative answer to one request, before it is given meaning.
#[derive(Debug)]
struct Nack {
    errno: i32,
    ext_ack: Option<String>,
}

/// Why a transaction failed, before it is given meaning.
#[derive(Debug)]
enum TxError {
    Nack(Nack),
    Other(Error),
}

impl From<Error> for TxError {
    fn from(e: Error) -> Self {
        TxError::Other(e)
    }
}

/// The replies of one request.
#[derive(Debug)]
struct Replies<F> {
    messages: Vec<F>,
    interrupted: bool,
}

/// A socket bound to the `wasmnf` family.
pub struct Client {
    socket: Socket,
    family_id: u16,
    seq: u32,
    sndbuf: usize,
}

impl Client {
    /// Opens a generic-netlink socket and resolves the `wasmnf` family.
    pub fn connect() -> Result<Client, Error> {
        let mut client = Client::open()?;
        client.family_id = client
            .family_id(consts::FAMILY_NAME_STR)?
            .ok_or(Error::ModuleNotLoaded)?;
        Ok(client)
    }

    /// A socket with extended and capped acks and a reply timeout.
    fn open() -> Result<Client, Error> {
        let sock = |what| move |source| Error::Socket { what, source };
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(sock("open a socket"))?;
        socket.bind_auto().map_err(sock("bind the socket"))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(sock("connect to the kernel"))?;
        socket
            .set_ext_ack(true)
            .map_err(sock("enable extended acks"))?;
        socket
            .set_cap_ack(true)
            .map_err(sock("enable capped acks"))?;
        set_rcvtimeo(&socket, REPLY_TIMEOUT).map_err(sock("set a receive timeout"))?;
        Ok(Client {
            socket,
            family_id: 0,
            seq: 0,
            sndbuf: SNDBUF_DEFAULT,
        })
    }

    /// A family's id through `nlctrl`'s `CTRL_CMD_GETFAMILY`; `None` if no
    /// such family is registered.
    fn family_id(&mut self, name: &str) -> Result<Option<u16>, Error> {
        let request = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(name.into())],
        };
        let replies = match self.transact(request, GENL_ID_CTRL, NLM_F_ACK) {
            Ok(r) => r,
            Err(TxError::Nack(n)) if n.errno == libc::ENOENT => return Ok(None),
            Err(TxError::Nack(n)) => {
                return Err(Error::Kernel {
                    op: Op::Resolve,
                    errno: n.errno,
                    ext_ack: n.ext_ack,
                })
            }
            Err(TxError::Other(e)) => return Err(e),
        };
        replies
            .messages
            .iter()
            .flat_map(|m| &m.nlas)
            .find_map(|a| match a {
                GenlCtrlAttrs::FamilyId(id) => Some(Some(*id)),
                _ => None,
            })
            .ok_or_else(|| Error::Decode("nlctrl reply without a family id".into()))
    }

    /// Loads a filter (`WASMNF_CMD_LOAD`).
    pub fn load(&mut self, req: &LoadRequest<'_>) -> Result<(), Error> {
        let op = Op::Load {
            name: req.name.into(),
        };
        self.wasmnf(op, Message::load(req), NLM_F_ACK).map(drop)
    }

    /// Unloads a filter (`WASMNF_CMD_UNLOAD`).
    pub fn unload(&mut self, name: &str) -> Result<(), Error> {
        let op = Op::Unload { name: name.into() };
        self.wasmnf(op, Message::unload(name), NLM_F_ACK).map(drop)
    }

    /// One filter (`WASMNF_CMD_GET`, do).
    pub fn get(&mut self, name: &str) -> Result<FilterInfo, Error> {
        let op = Op::Get {
            name: Some(name.into()),
        };
        let replies = self.wasmnf(op, Message::get(Some(name)), NLM_F_ACK)?;
        let msg = replies
            .messages
            .first()
            .ok_or_else(|| Error::Decode(format!("no reply describing {name}")))?;
        FilterInfo::from_message(msg).map_err(decode)
    }

    /// Every filter of the caller's network namespace (`WASMNF_CMD_GET`,
    /// dump), in the kernel's order.
    pub fn list(&mut self) -> Result<Vec<FilterInfo>, Error> {
        let mut attempt = 0;
        loop {
            let replies = self.wasmnf(Op::Get { name: None }, Message::get(None), NLM_F_DUMP)?;
            attempt += 1;
            if !replies.interrupted || attempt > DUMP_RETRIES {
                return replies
                    .messages
                    .iter()
                    .map(|m| FilterInfo::from_message(m).map_err(decode))
                    .collect();
            }
        }
    }

    /// A dump, repeated while a concurrent change interrupts it.
    fn dump(&mut self, op: Op, msg: Message) -> Result<Vec<Message>, Error> {
        let mut attempt = 0;
        loop {
            let replies = self.wasmnf(op.clone(), msg.clone(), NLM_F_DUMP)?;
            attempt += 1;
            if !replies.interrupted || attempt > DUMP_RETRIES {
                return Ok(replies.messages);
            }
        }
    }

    fn map_op(verb: &'static str, name: &str, map: Option<&str>) -> Op {
        Op::Map {
            verb,
            name: name.into(),
            map: map.map(Into::into),
        }
    }

    /// Map `map` of filter `name` (`WASMNF_CMD_MAP_INFO`, do).
    pub fn map_info(&mut self, name: &str, map: &str) -> Result<MapDesc, Error> {
        let op = Client::map_op("read", name, Some(map));
        let replies = self.wasmnf(op, Message::map_info(name, Some(map)), NLM_F_ACK)?;
        let msg = replies
            .messages
            .first()
            .ok_or_else(|| Error::Decode(format!("no reply describing map {map}")))?;
        MapDesc::from_message(msg).map_err(decode)
    }

    /// Every map of filter `name` (`WASMNF_CMD_MAP_INFO`, dump), by id.
    pub fn map_list(&mut self, name: &str) -> Result<Vec<MapDesc>, Error> {
        let op = Client::map_op("list", name, None);
        self.dump(op, Message::map_info(name, None))?
            .iter()
            .map(|m| MapDesc::from_message(m).map_err(decode))
            .collect()
    }

    /// The value rows of `key` (`WASMNF_CMD_MAP_GET`, do); `None` if the
    /// key is missing (the caller checked the filter and map exist).
    pub fn map_lookup(
        &mut self,
        name: &str,
        map: &str,
        key: &[u8],
    ) -> Result<Option<Vec<Vec<u8>>>, Error> {
        let op = Client::map_op("read", name, Some(map));
        match self.wasmnf(op, Message::map_get(name, map, Some(key)), NLM_F_ACK) {
            Ok(replies) => {
                let msg = replies
                    .messages
                    .first()
                    .ok_or_else(|| Error::Decode("no MAP_GET reply".into()))?;
                Ok(Some(map_entry(msg).map_err(decode)?.1))
            }
            Err(Error::Kernel {
                errno: libc::ENOENT,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every entry of a map (`WASMNF_CMD_MAP_GET`, dump): keys and rows.
    pub fn map_dump(&mut self, name: &str, map: &str) -> Result<Vec<MapRows>, Error> {
        let op = Client::map_op("dump", name, Some(map));
        self.dump(op, Message::map_get(name, map, None))?
            .iter()
            .map(|m| map_entry(m).map_err(decode))
            .collect()
    }

    /// Inserts or replaces `entries` under `flags`, in batches of at most
    /// [`consts::BATCH_MAX`]; returns how many went in before an error.
    pub fn map_update(
        &mut self,
        name: &str,
        map: &str,
        entries: &[MapEntry],
        flags: i32,
    ) -> Result<(), (usize, Error)> {
        let mut done = 0;
        for batch in entries.chunks(consts::BATCH_MAX) {
            let op = Client::map_op("update", name, Some(map));
            let msg = Message::map_update(name, map, batch, flags);
            self.wasmnf(op, msg, NLM_F_ACK).map_err(|e| (done, e))?;
            done += batch.len();
        }
        Ok(())
    }

    /// Deletes `keys`, in batches of at most [`consts::BATCH_MAX`].
    pub fn map_delete(
        &mut self,
        name: &str,
        map: &str,
        keys: &[Vec<u8>],
    ) -> Result<(), (usize, Error)> {
        let mut done = 0;
        for batch in keys.chunks(consts::BATCH_MAX) {
            let op = Client::map_op("delete from", name, Some(map));
            let msg = Message::map_delete(name, map, batch);
            self.wasmnf(op, msg, NLM_F_ACK).map_err(|e| (done, e))?;
            done += batch.len();
        }
        Ok(())
    }

    /// Removes every entry of a map (`WASMNF_CMD_MAP_CLEAR`).
    pub fn map_clear(&mut self, name: &str, map: &str) -> Result<(), Error> {
        let op = Client::map_op("clear", name, Some(map));
        self.wasmnf(op, Message::map_clear(name, map), NLM_F_ACK)
            .map(drop)
    }

    fn wasmnf(&mut self, op: Op, msg: Message, flags: u16) -> Result<Replies<Message>, Error> {
        let family_id = self.family_id;
        self.transact(msg, family_id, flags).map_err(|e| match e {
            TxError::Nack(n) => Error::Kernel {
                op,
                errno: n.errno,
                ext_ack: n.ext_ack,
            },
            TxError::Other(e) => e,
        })
    }

    /// Sends one request and collects its replies until its ack, error or
    /// `NLMSG_DONE`.
    fn transact<F>(&mut self, payload: F, family_id: u16, flags: u16) -> Result<Replies<F>, TxError>
    where
        F: GenlFamily + Emitable + ParseableParametrized<[u8], GenlHeader> + Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = encode(payload, family_id, flags, seq);
        self.send(&bytes)?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut replies = Replies {
            messages: Vec::new(),
            interrupted: false,
        };
        loop {
            let (buf, _) = self.socket.recv_from_full().map_err(|source| {
                let what = if source.kind() == io::ErrorKind::WouldBlock {
                    "receive a reply: no answer within 30 s"
                } else {
                    "receive a reply"
                };
                Error::Socket { what, source }
            })?;
            for msg in split(&buf) {
                let msg = NetlinkMessage::<GenlMessage<F>>::deserialize(msg?).map_err(decode)?;
                if msg.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                replies.interrupted |= msg.header.flags & NLM_F_DUMP_INTR != 0;
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => {
                        replies.messages.push(m.payload);
                        if !dump && flags & NLM_F_ACK == 0 {
                            return Ok(replies);
                        }
                    }
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(replies),
                        Some(code) => {
                            return Err(TxError::Nack(Nack {
                                errno: -code.get(),
                                ext_ack: ext_ack_in_error(msg.header.flags, &e.header),
                            }))
                        }
                    },
                    NetlinkPayload::Done(d) if d.code < 0 => {
                        return Err(TxError::Nack(Nack {
                            errno: -d.code,
                            ext_ack: ext_ack_in_tlvs(&d.extended_ack),
                        }))
                    }
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Overrun(_) => {
                        return Err(Error::Decode("netlink overrun".into()).into())
                    }
                    _ => {}
                }
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() > self.sndbuf {
            // Slack for the skb's own overhead, which counts against the buffer.
            let want = bytes.len() + SNDBUF_DEFAULT;
            raise_sndbuf(&self.socket, want).map_err(|source| Error::Send {
                len: bytes.len(),
                source,
            })?;
            self.sndbuf = want;
        }
        self.socket.send(bytes, 0).map_err(|source| Error::Send {
            len: bytes.len(),
            source,
        })?;
        Ok(())
    }
}

fn decode(e: DecodeError) -> Error {
    Error::Decode(e.to_string())
}

/// A request as bytes: `nlmsghdr`, `genlmsghdr`, attributes.
pub fn encode<F>(payload: F, family_id: u16, flags: u16, seq: u32) -> Vec<u8>
where
    F: GenlFamily + Emitable + Debug,
{
    let mut genl = GenlMessage::from_payload(payload);
    genl.set_resolved_family_id(family_id);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(genl));
    msg.finalize();
    let mut bytes = vec![0; msg.buffer_len()];
    msg.serialize(&mut bytes);
    bytes
}

/// The netlink messages in one datagram.
fn split(buf: &[u8]) -> impl Iterator<Item = Result<&[u8], Error>> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = match NetlinkBuffer::new_checked(rest) {
            Ok(b) => b.length() as usize,
            Err(e) => {
                rest = &[];
                return Some(Err(decode(e)));
            }
        };
        let (msg, tail) = rest.split_at(len);
        rest = tail.get(((len + 3) & !3) - len..).unwrap_or(&[]);
        Some(Ok(msg))
    })
}

/// `setsockopt(fd, SOL_SOCKET, opt, value)`.
fn setsockopt<T>(socket: &Socket, opt: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live, initialized `T` for the duration of the call
    // and its size is passed as the option length; the fd is owned by
    // `socket`, which outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the send buffer to hold a `bytes`-long message: `SO_SNDBUFFORCE`
/// (needs CAP_NET_ADMIN), else `SO_SNDBUF` (capped by `net.core.wmem_max`).
fn raise_sndbuf(socket: &Socket, bytes: usize) -> io::Result<()> {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    setsockopt(socket, libc::SO_SNDBUFFORCE, &size)
        .or_else(|_| setsockopt(socket, libc::SO_SNDBUF, &size))
}

fn set_rcvtimeo(socket: &Socket, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    setsockopt(socket, libc::SO_RCVTIMEO, &tv)
}

#[cfg(test)]
mod tests;
