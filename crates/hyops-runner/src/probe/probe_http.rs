//! `http` probes: a minimal HTTP/1.1 client over `std::net::TcpStream` (request, status, headers,
//! body up to 1 MiB, chunked decoding). `http://` only: a TLS stack is a heavy dependency and
//! probes today target local services; `https://` URLs fail with a clear message.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use hyops_contract::HttpProbe;

use super::{Check, excerpt, remaining};

/// Largest body a probe reads; the rest is ignored.
pub(crate) const BODY_CAP: usize = 1024 * 1024;
/// Largest header block accepted.
const HEADER_CAP: usize = 64 * 1024;

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HttpUrl {
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
}

fn parse_url(url: &str) -> Result<HttpUrl, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "https probes not supported yet ({url:?}); help: probe the service over http:// or use a command probe (curl)"
        ));
    }
    let rest = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
        .ok_or_else(|| format!("a URL that is not http:// ({url:?})"))?;
    let (authority, target) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_owned()),
        None => (rest, "/".to_owned()),
    };
    let target = target.split('#').next().unwrap_or("/").to_owned();
    if authority.contains('@') {
        return Err(format!("a URL with credentials ({url:?})"));
    }
    // `[v6]:port` keeps its brackets in the host (they belong in the Host header too).
    let (host, port_text) = match authority.strip_prefix('[') {
        Some(inner) => match inner.split_once(']') {
            Some((v6, tail)) => (&authority[..v6.len() + 2], tail.strip_prefix(':')),
            None => return Err(format!("a URL with an unclosed IPv6 bracket ({url:?})")),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port_text {
        None => 80,
        Some(text) => text
            .parse::<u16>()
            .map_err(|_| format!("a URL with an invalid port ({url:?})"))?,
    };
    if host.is_empty() {
        return Err(format!("a URL without a host ({url:?})"));
    }
    Ok(HttpUrl {
        host: host.to_owned(),
        port,
        target,
    })
}

/// A response as far as probes care.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Response {
    status: u16,
    body: String,
}

pub(super) fn expected(probe: &HttpProbe) -> String {
    let status = probe.expect.status.unwrap_or(200);
    let mut text = format!("HTTP {status}");
    if let Some(needle) = &probe.expect.body_contains {
        text.push_str(&format!(" with body containing {needle:?}"));
    }
    text
}

pub(super) fn check(probe: &HttpProbe, deadline: Instant) -> Check {
    let url = match parse_url(&probe.url) {
        Ok(url) => url,
        Err(problem) => return Check::Final(problem),
    };
    let method = probe.method.as_deref().unwrap_or("GET");
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Check::Final(format!("an invalid HTTP method {method:?}"));
    }
    let response = match fetch(&url, method, deadline) {
        Ok(response) => response,
        Err(problem) => return Check::Retry(problem),
    };
    let status_ok = response.status == probe.expect.status.unwrap_or(200);
    let body_ok = probe
        .expect
        .body_contains
        .as_ref()
        .is_none_or(|needle| response.body.contains(needle.as_str()));
    let mut seen = format!("HTTP {}", response.status);
    if status_ok && body_ok {
        return Check::Pass(seen);
    }
    if status_ok {
        seen.push_str(&format!(
            " with body {:?}",
            excerpt(response.body.trim(), 200)
        ));
    }
    Check::Retry(seen)
}

fn fetch(url: &HttpUrl, method: &str, deadline: Instant) -> Result<Response, String> {
    let address = format!("{}:{}", url.host.trim_matches(['[', ']']), url.port);
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .map_err(|err| format!("no address for {address} ({err})"))?
        .collect();
    let floor = Duration::from_millis(100);
    let mut stream = None;
    let mut last_error = format!("no address for {address}");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline, floor)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(err) => last_error = format!("{err} ({addr})"),
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    let host_header = if url.port == 80 {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    // A method that may carry a body gets an explicit empty one, so the server does not wait.
    let length = if matches!(method, "GET" | "HEAD") {
        ""
    } else {
        "Content-Length: 0\r\n"
    };
    let request = format!(
        "{method} {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: hyops-probe\r\nAccept: */*\r\n{length}Connection: close\r\n\r\n",
        url.target
    );
    let io_err = |err: std::io::Error| format!("{err} talking to {address}");
    stream
        .set_write_timeout(Some(remaining(deadline, floor)))
        .map_err(io_err)?;
    stream.write_all(request.as_bytes()).map_err(io_err)?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        stream
            .set_read_timeout(Some(remaining(deadline, floor)))
            .map_err(io_err)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(io_err(err)),
        }
        if raw.len() >= HEADER_CAP + BODY_CAP || response_complete(&raw) {
            break;
        }
    }
    parse_response(&raw)
}

/// Finds the end of the header block (`\r\n\r\n`).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// True once the whole body is in, so servers that keep the connection open anyway don't make the
/// probe wait for its deadline.
fn response_complete(raw: &[u8]) -> bool {
    let Some(end) = header_end(raw) else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let body = &raw[end..];
    if header(&head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return body.ends_with(b"0\r\n\r\n");
    }
    match header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) => body.len() >= length,
        None => false,
    }
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    if raw.is_empty() {
        return Err("the connection closed without a response".to_owned());
    }
    let end = header_end(raw).ok_or_else(|| "an incomplete HTTP response".to_owned())?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code.parse::<u16>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("a malformed status line {:?}", excerpt(status_line, 80)))?;
    let mut body = raw[end..].to_vec();
    if header(&head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body);
    } else if let Some(length) = header(&head, "content-length").and_then(|v| v.parse().ok()) {
        body.truncate(length);
    }
    body.truncate(BODY_CAP);
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Decodes a chunked body, stopping quietly at the first malformed or truncated chunk.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        data = &data[line_end + 2..];
        if size == 0 || out.len() >= BODY_CAP {
            break;
        }
        let take = size.min(data.len());
        out.extend_from_slice(&data[..take]);
        if take < size || data.len() < size + 2 {
            break;
        }
        data = &data[size + 2..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_server::TestServer;
    use super::*;

    fn probe(url: &str, status: Option<u16>, body: Option<&str>) -> HttpProbe {
        HttpProbe {
            url: url.into(),
            method: None,
            expect: hyops_contract::HttpExpect {
                status,
                body_contains: body.map(str::to_owned),
            },
        }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/a/b?c=d#frag").unwrap(),
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8080,
                target: "/a/b?c=d".into()
            }
        );
        assert_eq!(
            parse_url("HTTP://example.test").unwrap(),
            HttpUrl {
                host: "example.test".into(),
                port: 80,
                target: "/".into()
            }
        );
        assert_eq!(
            parse_url("http://[::1]:9000?x").unwrap(),
            HttpUrl {
                host: "[::1]".into(),
                port: 9000,
                target: "/?x".into()
            }
        );
        assert_eq!(parse_url("http://[::1]/").unwrap().port, 80);
        assert!(
            parse_url("https://x")
                .unwrap_err()
                .starts_with("https probes not supported yet")
        );
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://x:99999/").is_err());
        assert!(parse_url("http:///path").is_err());
    }

    #[test]
    fn passes_on_status_and_body_and_sends_host_and_path() {
        let server = TestServer::start(0, "hello from hyops");
        let url = format!("http://{}/greet?x=1", server.addr());
        assert_eq!(
            check(&probe(&url, None, Some("hello")), soon()),
            Check::Pass("HTTP 200".into())
        );
        let request = server.last_request();
        assert!(
            request.starts_with("GET /greet?x=1 HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("Host: {}\r\n", server.addr())),
            "{request}"
        );
    }

    #[test]
    fn reports_body_when_status_matches_but_body_does_not() {
        let server = TestServer::start(0, "goodbye");
        let url = format!("http://{}/", server.addr());
        assert_eq!(
            check(&probe(&url, Some(200), Some("hello")), soon()),
            Check::Retry("HTTP 200 with body \"goodbye\"".into())
        );
    }

    #[test]
    fn reports_unexpected_status() {
        let server = TestServer::start(usize::MAX, "ok");
        let url = format!("http://{}/", server.addr());
        assert_eq!(
            check(&probe(&url, None, None), soon()),
            Check::Retry("HTTP 503".into())
        );
        assert_eq!(
            check(&probe(&url, Some(503), None), soon()),
            Check::Pass("HTTP 503".into())
        );
    }

    #[test]
    fn connection_refused_is_retryable_and_names_the_address() {
        let addr = TestServer::free_addr();
        let Check::Retry(seen) = check(&probe(&format!("http://{addr}/"), None, None), soon())
        else {
            panic!("expected a retryable failure");
        };
        assert!(seen.contains(&addr.to_string()), "{seen}");
    }

    #[test]
    fn https_is_a_final_clear_failure() {
        let Check::Final(seen) = check(&probe("https://127.0.0.1:1/", None, None), soon()) else {
            panic!("expected a final failure");
        };
        assert!(seen.starts_with("https probes not supported yet"), "{seen}");
    }

    #[test]
    fn decodes_chunked_and_honours_content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        assert!(response_complete(raw));
        assert_eq!(
            parse_response(raw).unwrap(),
            Response {
                status: 200,
                body: "hello, world".into()
            }
        );
        let raw = b"HTTP/1.0 404 Not Found\r\ncontent-length: 3\r\n\r\nabcdef";
        assert_eq!(
            parse_response(raw).unwrap(),
            Response {
                status: 404,
                body: "abc".into()
            }
        );
        assert!(parse_response(b"garbage\r\n\r\n").is_err());
        assert!(parse_response(b"").is_err());
    }
}
