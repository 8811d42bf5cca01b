//! What can go wrong talking to the module, in words a user can act on.

use super::consts::{NLMSGERR_ATTR_MSG, NLMSGHDR_LEN};
use netlink_packet_core::{NlasIterator, NLM_F_ACK_TLVS, NLM_F_CAPPED};
use std::fmt;
use std::io;

/// The request that failed, for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Looking up the `wasmnf` family through `nlctrl`.
    Resolve,
    Load {
        name: String,
    },
    Unload {
        name: String,
    },
    /// `Some` for one filter, `None` for the dump.
    Get {
        name: Option<String>,
    },
    /// A map command on filter `name`'s map `map` (`None`: all its maps).
    Map {
        verb: &'static str,
        name: String,
        map: Option<String>,
    },
}

/// A failed exchange with the kernel.
#[derive(Debug)]
pub enum Error {
    /// The `wasmnf` generic-netlink family is not registered.
    ModuleNotLoaded,
    /// The kernel answered a request with a negative errno.
    Kernel {
        op: Op,
        /// Positive errno.
        errno: i32,
        /// The extended-ack message, if the kernel gave one.
        ext_ack: Option<String>,
    },
    /// Opening, configuring or using the socket failed.
    Socket {
        what: &'static str,
        source: io::Error,
    },
    /// A request could not be sent (`len` bytes).
    Send { len: usize, source: io::Error },
    /// A reply did not parse.
    Decode(String),
}

/// The errno's symbolic name and description, e.g. `EINVAL (Invalid argument)`.
fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    // io::Error's Display is "Description (os error N)": keep the description.
    text.split(" (os error").next().unwrap_or(&text).to_string()
}

/// What an errno means for `op`, without the extended ack.
pub fn describe(op: &Op, errno: i32) -> String {
    let verb = match op {
        Op::Resolve => "talking to the wasmnf module",
        Op::Load { .. } => "loading filters",
        Op::Unload { .. } => "unloading filters",
        Op::Get { .. } => "reading filters",
        Op::Map { .. } => "using maps",
    };
    match (errno, op) {
        (libc::EPERM, _) | (libc::EACCES, _) => {
            format!("permission denied: {verb} needs CAP_NET_ADMIN (run as root)")
        }
        (libc::EEXIST, Op::Load { name }) => {
            format!("a filter named {name} is already loaded; use --replace to swap it")
        }
        (libc::ENOENT, Op::Unload { name } | Op::Get { name: Some(name) }) => {
            format!("no filter named {name}")
        }
        (libc::E2BIG, Op::Load { name }) => format!(
            "cannot load {name}: it is over a limit of the kernel module (module size \
             {} bytes, memory, table, map memory of the filter or of the namespace, or \
             load options)",
            wasmnf_common::limits::MODULE_SIZE_MAX
        ),
        (libc::EOPNOTSUPP, Op::Load { name }) => format!(
            "the kernel's engine does not run {name}: valid WebAssembly outside what \
             wasmnf runs (docs/abi.md, \"Engines\")"
        ),
        (libc::ECANCELED, Op::Load { name }) => {
            format!("{name} refused to start in the kernel: its init failed")
        }
        (_, Op::Map { verb, name, map }) => {
            let what = match map {
                Some(map) => format!("map {map} of filter {name}"),
                None => format!("the maps of filter {name}"),
            };
            let why = match errno {
                libc::ENOENT => "no such filter, map or key".into(),
                libc::EEXIST => "the key exists (drop --create to replace it)".into(),
                libc::E2BIG => {
                    "the map is full, an array index is past its end, or the batch is too large"
                        .into()
                }
                _ => strerror(errno),
            };
            format!("cannot {verb} {what}: {why}")
        }
        (_, Op::Load { name }) => format!("the kernel refused to load {name}: {}", strerror(errno)),
        (_, Op::Unload { name }) => format!("cannot unload {name}: {}", strerror(errno)),
        (_, Op::Get { name: Some(name) }) => {
            format!("cannot read filter {name}: {}", strerror(errno))
        }
        (_, Op::Get { name: None }) => format!("cannot list filters: {}", strerror(errno)),
        (_, Op::Resolve) => format!("cannot look up the wasmnf family: {}", strerror(errno)),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ModuleNotLoaded => f.write_str(
                "the wasmnf kernel module is not loaded; load it with `insmod wasmnf.ko` \
                 (see docs/kernel.md)",
            ),
            Error::Kernel { op, errno, ext_ack } => {
                f.write_str(&describe(op, *errno))?;
                match ext_ack {
                    Some(msg) => write!(f, " (kernel: {msg})"),
                    None => Ok(()),
                }
            }
            Error::Socket { what, source } => write!(f, "generic netlink: cannot {what}: {source}"),
            Error::Send { len, source } => {
                write!(
                    f,
                    "cannot send the {len}-byte request to the kernel: {source}"
                )?;
                if source.raw_os_error() == Some(libc::EMSGSIZE) {
                    f.write_str(
                        " (a send buffer this large needs CAP_NET_ADMIN for SO_SNDBUFFORCE; \
                         run as root)",
                    )?;
                }
                Ok(())
            }
            Error::Decode(e) => write!(f, "unexpected reply from the wasmnf module: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether the kernel's engine refused the filter itself (a construct it
    /// does not run, or a failing `init`), rather than the request or a
    /// limit: the CLI exits with the status of a refused filter then.
    pub fn refused_filter(&self) -> bool {
        use wasmnf_common::ffi::refusal;
        matches!(
            self,
            Error::Kernel { op: Op::Load { .. }, errno, .. }
                if [refusal::UNSUPPORTED, refusal::INIT]
                    .into_iter()
                    .any(|c| refusal::errno_of(c) == *errno)
        )
    }
}

/// The `NLMSGERR_ATTR_MSG` string among extended-ack attributes.
pub fn ext_ack_in_tlvs(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            let v = nla.value();
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            String::from_utf8_lossy(&v[..end]).into_owned()
        })
        .filter(|s| !s.is_empty())
}

/// The extended-ack message of an `NLMSG_ERROR`, given the outer header's
/// flags and what follows the error code: the request's header (and its
/// payload unless `NLM_F_CAPPED`), then the attributes if `NLM_F_ACK_TLVS`.
pub fn ext_ack_in_error(flags: u16, after_code: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSGHDR_LEN
    } else {
        let len = after_code.get(..4)?;
        let len = u32::from_ne_bytes(len.try_into().ok()?) as usize;
        len.checked_add(3)? & !3
    };
    ext_ack_in_tlvs(after_code.get(echoed..)?)
}
