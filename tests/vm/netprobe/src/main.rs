//! Traffic for the wasmnf VM tests, with real sockets and bounded waits.
//!
//!   netprobe udp-send ADDR PORT COUNT [PAYLOAD]
//!   netprobe udp-recv PORT COUNT TIMEOUT_MS   (binds the unspecified v6
//!                                              address, dual-stack)
//!   netprobe tcp-echo-server PORT TIMEOUT_MS   (one connection)
//!   netprobe tcp-echo ADDR PORT PAYLOAD TIMEOUT_MS
//!
//! Prints one result line and exits 0 when the expectation held, 1 if not,
//! 2 on bad usage.
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::exit;
use std::time::{Duration, Instant};

fn usage() -> ! {
    eprintln!("usage: netprobe udp-send ADDR PORT COUNT [PAYLOAD] | udp-recv PORT COUNT TIMEOUT_MS | tcp-echo-server PORT TIMEOUT_MS | tcp-echo ADDR PORT PAYLOAD TIMEOUT_MS");
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
        Some("udp-send") => {
            let addr: IpAddr = arg(&args, 2);
            let port: u16 = arg(&args, 3);
            let count: u32 = arg(&args, 4);
            let payload = args.get(5).cloned().unwrap_or_else(|| "netprobe".into());
            let bind: SocketAddr = if addr.is_ipv6() {
                "[::]:0".parse().unwrap()
            } else {
                "0.0.0.0:0".parse().unwrap()
            };
            let sock = UdpSocket::bind(bind).unwrap_or_else(|e| fail(format!("bind: {e}")));
            for _ in 0..count {
                sock.send_to(payload.as_bytes(), SocketAddr::new(addr, port))
                    .unwrap_or_else(|e| fail(format!("send_to: {e}")));
            }
            println!("netprobe: sent {count} datagrams to {addr} port {port}");
        }
        Some("udp-recv") => {
            let port: u16 = arg(&args, 2);
            let want: u32 = arg(&args, 3);
            let timeout = Duration::from_millis(arg(&args, 4));
            let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
                .unwrap_or_else(|e| fail(format!("bind: {e}")));
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
        _ => usage(),
    }
}
