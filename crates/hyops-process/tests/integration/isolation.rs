//! Every tool leads its own process group; a new session only when asked (or when hyops has a
//! terminal), so `/dev/tty` is never reachable from a session the tool leads.

use hyops_process::{Isolation, ProcessSpec};

use crate::{run_lines, sh};

/// (pid, pgrp, session) of the spawned shell, as it reads them from /proc.
async fn ids(spec: &ProcessSpec) -> (u32, u32, u32) {
    let (outcome, lines) = run_lines(spec).await;
    assert!(outcome.success(), "{lines:?}");
    let stat = String::from_utf8(lines[0].text.clone()).unwrap();
    // After the parenthesised command name: state ppid pgrp session ...
    let rest: Vec<u32> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(3)
        .map(|f| f.parse().unwrap())
        .collect();
    assert_eq!(
        outcome.pid,
        stat.split(' ').next().unwrap().parse::<u32>().unwrap()
    );
    (outcome.pid, rest[1], rest[2])
}

#[tokio::test]
async fn a_group_leader_in_the_callers_session() {
    let dir = tempfile::tempdir().unwrap();
    let spec = sh(dir.path(), "read -r s < /proc/$$/stat; echo \"$s\"").isolation(Isolation::Group);
    let (pid, pgrp, session) = ids(&spec).await;
    assert_eq!(
        pgrp, pid,
        "the tool leads its own group, so killpg reaches its tree"
    );
    let ours = nix::unistd::getsid(None).unwrap().as_raw() as u32;
    assert_eq!(session, ours, "no new session");
}

#[tokio::test]
async fn a_session_leader_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        sh(dir.path(), "read -r s < /proc/$$/stat; echo \"$s\"").isolation(Isolation::Session);
    let (pid, pgrp, session) = ids(&spec).await;
    assert_eq!((pgrp, session), (pid, pid));
    // A session leader without a terminal: opening /dev/tty fails at once instead of blocking.
    let (outcome, lines) = run_lines(
        &sh(
            dir.path(),
            "(exec 3</dev/tty) 2>/dev/null && echo opened || echo none",
        )
        .isolation(Isolation::Session),
    )
    .await;
    assert!(outcome.success());
    assert_eq!(lines[0].text, b"none");
}

#[test]
fn auto_is_a_session_exactly_when_hyops_has_a_terminal() {
    let expected = if hyops_process::has_controlling_terminal() {
        Isolation::Session
    } else {
        Isolation::Group
    };
    assert_eq!(Isolation::Auto.resolve(), expected);
    assert_eq!(Isolation::Group.resolve(), Isolation::Group);
    assert_eq!(Isolation::Session.resolve(), Isolation::Session);
    assert_eq!(ProcessSpec::new("x", "/").isolation, Isolation::Auto);
}
