//! Traffic for the wasmnf VM tests, with real sockets and bounded waits.
//!
//!   netprobe udp-send ADDR PORT COUNT [PAYLOAD [SRC...]]  (COUNT from each SRC given)
//!   netprobe udp-recv PORT COUNT TIMEOUT_MS   (binds the unspecified v6
//!                                              address, dual-stack; prints
//!                                              "netprobe: listening on port
//!                                              PORT" once bound, so a test
//!                                              sends only then)
//!   netprobe tcp-echo-server PORT TIMEOUT_MS   (one connection)
//!   netprobe tcp-echo ADDR PORT PAYLOAD TIMEOUT_MS
//!   netprobe udp-flood ADDR PORT WARMUP_MS WINDOW_MS PAYLOAD_LEN
//!                         (sendmmsg batches on a connected socket; prints
//!                          the datagrams sent in the window, its length,
//!                          and the total sent with the warmup)
//!   netprobe udp-sink PORT SECONDS  (binds, never reads: the receive queue
//!                                    fills and then drops, at a fixed cost)
//!   netprobe time CMD [ARG...]      (runs CMD, its output discarded; prints
//!                                    "netprobe: ns=N rc=RC", the monotonic
//!                                    time it took, and exits with its status)
//!
//! Prints one result line and exits 0 when the expectation held, 1 if not,
//! 2 on bad usage.
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::exit;
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!("usage: netprobe udp-send ADDR PORT COUNT [PAYLOAD [SRC...]] | udp-recv PORT COUNT TIMEOUT_MS | tcp-echo-server PORT TIMEOUT_MS | tcp-echo ADDR PORT PAYLOAD TIMEOUT_MS | udp-flood ADDR PORT WARMUP_MS WINDOW_MS PAYLOAD_LEN | udp-sink PORT SECONDS | time CMD [ARG...]");
    exit(2)
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> T {
    args.get(i)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| usage())
}

fn fail(msg: String) -> ! {
    println!("netprobe: FAIL {msg}");
    exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("time") => {
            let Some(cmd) = args.get(2) else { usage() };
            let t0 = Instant::now();
            let status = std::process::Command::new(cmd)
                .args(&args[3..])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap_or_else(|e| fail(format!("{cmd}: {e}")));
            let ns = t0.elapsed().as_nanos();
            let rc = status.code().unwrap_or(128);
            println!("netprobe: ns={ns} rc={rc}");
            exit(rc)
        }
        Some("udp-send") => {
            let addr: IpAddr = arg(&args, 2);
            let port: u16 = arg(&args, 3);
            let count: u32 = arg(&args, 4);
            let payload = args.get(5).cloned().unwrap_or_else(|| "netprobe".into());
            // From each SRC given (one socket each), else any address.
            let binds: Vec<SocketAddr> = match args.len() > 6 {
                true => (6..args.len())
                    .map(|i| SocketAddr::new(arg(&args, i), 0))
                    .collect(),
                false if addr.is_ipv6() => vec!["[::]:0".parse().unwrap()],
                false => vec!["0.0.0.0:0".parse().unwrap()],
            };
            for bind in &binds {
                let sock =
                    UdpSocket::bind(bind).unwrap_or_else(|e| fail(format!("bind {bind}: {e}")));
                for _ in 0..count {
                    sock.send_to(payload.as_bytes(), SocketAddr::new(addr, port))
                        .unwrap_or_else(|e| fail(format!("send_to: {e}")));
                }
            }
            println!(
                "netprobe: sent {count} datagrams from each of {} sources to {addr} port {port}",
                binds.len()
            );
        }
        Some("udp-recv") => {
            let port: u16 = arg(&args, 2);
            let want: u32 = arg(&args, 3);
            let timeout = Duration::from_millis(arg(&args, 4));
            let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
                .unwrap_or_else(|e| fail(format!("bind: {e}")));
            println!("netprobe: listening on port {port}");
            std::io::stdout().flush().ok();
            let deadline = Instant::now() + timeout;
            let mut got = 0u32;
            let mut buf = [0u8; 2048];
            while got < want {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                sock.set_read_timeout(Some(left)).unwrap();
                match sock.recv_from(&mut buf) {
                    Ok(_) => got += 1,
                    Err(_) => break,
                }
            }
            println!("netprobe: received {got} datagrams on port {port}");
            if got < want {
                fail(format!("expected {want} datagrams, got {got}"));
            }
        }
        Some("tcp-echo-server") => {
            let port: u16 = arg(&args, 2);
            let timeout = Duration::from_millis(arg(&args, 3));
            let l = TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
                .unwrap_or_else(|e| fail(format!("bind: {e}")));
            l.set_nonblocking(true).unwrap();
            let deadline = Instant::now() + timeout;
            let mut conn = loop {
                match l.accept() {
                    Ok((c, _)) => break c,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => fail(format!("no connection: {e}")),
                }
            };
            conn.set_nonblocking(false).unwrap();
            conn.set_read_timeout(Some(timeout)).unwrap();
            let mut buf = [0u8; 2048];
            let n = conn
                .read(&mut buf)
                .unwrap_or_else(|e| fail(format!("read: {e}")));
            conn.write_all(&buf[..n])
                .unwrap_or_else(|e| fail(format!("write: {e}")));
            println!("netprobe: echoed {n} bytes");
        }
        Some("tcp-echo") => {
            let addr: IpAddr = arg(&args, 2);
            let port: u16 = arg(&args, 3);
            let payload: String = arg(&args, 4);
            let timeout = Duration::from_millis(arg(&args, 5));
            let mut c = TcpStream::connect_timeout(&SocketAddr::new(addr, port), timeout)
                .unwrap_or_else(|e| fail(format!("connect: {e}")));
            c.set_read_timeout(Some(timeout)).unwrap();
            c.write_all(payload.as_bytes())
                .unwrap_or_else(|e| fail(format!("write: {e}")));
            let mut buf = vec![0u8; payload.len()];
            c.read_exact(&mut buf)
                .unwrap_or_else(|e| fail(format!("read: {e}")));
            if buf != payload.as_bytes() {
                fail("echo differs".into());
            }
            println!("netprobe: tcp echo of {} bytes ok", payload.len());
        }
        Some("udp-flood") => {
            let addr: IpAddr = arg(&args, 2);
            let port: u16 = arg(&args, 3);
            let warmup = Duration::from_millis(arg(&args, 4));
            let window = Duration::from_millis(arg(&args, 5));
            let len: usize = arg(&args, 6);
            let bind: SocketAddr = if addr.is_ipv6() {
                "[::]:0".parse().unwrap()
            } else {
                "0.0.0.0:0".parse().unwrap()
            };
            let sock = UdpSocket::bind(bind).unwrap_or_else(|e| fail(format!("bind: {e}")));
            sock.connect(SocketAddr::new(addr, port))
                .unwrap_or_else(|e| fail(format!("connect: {e}")));
            let mut batch = mmsg::Batch::new(len);
            let t0 = Instant::now();
            let mut total = 0u64;
            while t0.elapsed() < warmup {
                total += batch
                    .send(&sock)
                    .unwrap_or_else(|e| fail(format!("sendmmsg: {e}")))
                    as u64;
            }
            let t1 = Instant::now();
            let mut sent = 0u64;
            while t1.elapsed() < window {
                sent += batch
                    .send(&sock)
                    .unwrap_or_else(|e| fail(format!("sendmmsg: {e}")))
                    as u64;
            }
            let ns = t1.elapsed().as_nanos();
            total += sent;
            println!(
                "netprobe: flood sent={sent} ns={ns} total={total} len={len} to {addr} port {port}"
            );
        }
        Some("udp-sink") => {
            let port: u16 = arg(&args, 2);
            let secs: u64 = arg(&args, 3);
            let _sock = UdpSocket::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
                .unwrap_or_else(|e| fail(format!("bind: {e}")));
            println!("netprobe: sink on port {port}");
            std::thread::sleep(Duration::from_secs(secs));
        }
        _ => usage(),
    }
}

/// `sendmmsg(2)` on a connected UDP socket: BATCH copies of one payload per
/// call. std has no sendmmsg and this tool has no dependencies, so the
/// x86_64/aarch64 Linux (glibc or musl) layouts are declared here.
mod mmsg {
    use super::*;
    use std::ffi::c_void;

    pub const BATCH: usize = 32;

    #[repr(C)]
    struct IoVec {
        base: *mut c_void,
        len: usize,
    }
    #[repr(C)]
    struct MsgHdr {
        name: *mut c_void,
        namelen: u32,
        iov: *mut IoVec,
        iovlen: usize,
        control: *mut c_void,
        controllen: usize,
        flags: i32,
    }
    #[repr(C)]
    struct MMsgHdr {
        hdr: MsgHdr,
        len: u32,
    }
    extern "C" {
        fn sendmmsg(fd: i32, msgs: *mut MMsgHdr, vlen: u32, flags: i32) -> i32;
    }

    pub struct Batch {
        _payload: Box<[u8]>,
        _iov: Box<IoVec>,
        msgs: Vec<MMsgHdr>,
    }

    impl Batch {
        pub fn new(len: usize) -> Self {
            let mut payload = vec![0x5au8; len].into_boxed_slice();
            let mut iov = Box::new(IoVec {
                base: payload.as_mut_ptr().cast(),
                len,
            });
            let iov_ptr: *mut IoVec = &mut *iov;
            let msgs = (0..BATCH)
                .map(|_| MMsgHdr {
                    hdr: MsgHdr {
                        name: std::ptr::null_mut(),
                        namelen: 0,
                        iov: iov_ptr,
                        iovlen: 1,
                        control: std::ptr::null_mut(),
                        controllen: 0,
                        flags: 0,
                    },
                    len: 0,
                })
                .collect();
            Batch {
                _payload: payload,
                _iov: iov,
                msgs,
            }
        }

        /// One call; the number of datagrams the kernel took.
        pub fn send(&mut self, sock: &UdpSocket) -> std::io::Result<usize> {
            // SAFETY: msgs, the iovec and the payload they point to live in
            // self and outlive the call; the kernel only reads them (and
            // writes each msg_len).
            let n = unsafe { sendmmsg(sock.as_raw_fd(), self.msgs.as_mut_ptr(), BATCH as u32, 0) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }
    }
}
