//! A tiny HTTP responder on 127.0.0.1 for probe tests: answers 503 to the first N requests
//! (a service that is still starting), then 200 with a fixed body. Stopped on drop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub(crate) struct TestServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    last_request: Arc<Mutex<String>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server answering 503 to the first `not_ready` requests, then 200 with `body`.
    pub(crate) fn start(not_ready: usize, body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let last_request = Arc::new(Mutex::new(String::new()));
        let body = body.to_owned();
        let thread = {
            let (stop, served, last_request) = (stop.clone(), served.clone(), last_request.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let request = read_request(&mut stream);
                    *last_request.lock().unwrap() = request;
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    let (status, text) = if n < not_ready {
                        ("503 Service Unavailable", "starting")
                    } else {
                        ("200 OK", body.as_str())
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = stream.write_all(response.as_bytes());
                }
            })
        };
        Self {
            addr,
            stop,
            served,
            last_request,
            thread: Some(thread),
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    pub(crate) fn last_request(&self) -> String {
        self.last_request.lock().unwrap().clone()
    }

    /// A loopback address nothing listens on (bound then released).
    pub(crate) fn free_addr() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }
}

fn read_request(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
