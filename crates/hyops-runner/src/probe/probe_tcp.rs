//! `tcp` probes: connect to `host:port` within the remaining time.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use hyops_contract::TcpProbe;

use super::{Check, remaining};

pub(super) fn expected(probe: &TcpProbe) -> String {
    format!("a TCP connection to {}", probe.address)
}

pub(super) fn check(probe: &TcpProbe, deadline: Instant) -> Check {
    let address = probe.address.trim();
    let has_port = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !has_port {
        return Check::Final(format!("an address that is not host:port ({address:?})"));
    }
    let addrs: Vec<_> = match address.to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(err) => return Check::Retry(format!("no address for {address} ({err})")),
    };
    let mut last = format!("no address for {address}");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline, Duration::from_millis(100))) {
            Ok(_) => return Check::Pass(format!("a connection to {addr}")),
            Err(err) => last = format!("{err} ({addr})"),
        }
    }
    Check::Retry(last)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn connects_to_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let check = check(
            &TcpProbe {
                address: address.clone(),
            },
            soon(),
        );
        assert_eq!(check, Check::Pass(format!("a connection to {address}")));
    }

    #[test]
    fn refused_names_the_address() {
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let Check::Retry(seen) = check(
            &TcpProbe {
                address: address.clone(),
            },
            soon(),
        ) else {
            panic!("expected a retryable failure");
        };
        assert!(
            seen.contains("refused") && seen.contains(&address),
            "{seen}"
        );
    }

    #[test]
    fn address_without_port_is_final() {
        let seen = check(
            &TcpProbe {
                address: "localhost".into(),
            },
            soon(),
        );
        assert_eq!(
            seen,
            Check::Final("an address that is not host:port (\"localhost\")".into())
        );
    }
}
