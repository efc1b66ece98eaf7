//! A state dir this user cannot write (a read-only mount, another user's state dir): the reading
//! commands read it as it is and change nothing; the writing commands refuse with a clear error.
//!
//! Permission checks do not apply to root, so as root the commands run as `nobody` through
//! `setpriv`, from a link to (or copy of) the binary inside the (opened up) temp dir; as any other user the
//! state dir's write bits are cleared.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run_support::{ENV, Outcome, World};

/// Runs `hyops` as a user that cannot write the world's state dir.
struct Reader {
    binary: PathBuf,
    as_root: bool,
}

impl Reader {
    /// Clears the write bits of everything under `world.state`; as root, also prepares a
    /// `nobody` who can reach the world (temp dir opened, binary copied into it).
    fn new(world: &World) -> Self {
        set_writable(&world.state, false);
        let as_root = nix::unistd::geteuid().is_root();
        if !as_root {
            return Self {
                binary: PathBuf::from(env!("CARGO_BIN_EXE_hyops")),
                as_root,
            };
        }
        for folder in world.tmp.path().ancestors().skip(1) {
            let mode = std::fs::metadata(folder).unwrap().permissions().mode();
            assert!(
                mode & 0o001 != 0,
                "{} is not searchable by other users, so `nobody` cannot reach the test's temp \
                 dir: point TMPDIR at a folder it can traverse (e.g. /tmp)",
                folder.display()
            );
        }
        let binary = world.scratch("hyops");
        // A link where the file system allows (the debug binary is large), else a copy.
        std::fs::hard_link(env!("CARGO_BIN_EXE_hyops"), &binary)
            .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_hyops"), &binary).map(drop))
            .unwrap();
        for path in walkdir::WalkDir::new(world.tmp.path()) {
            let path = path.unwrap().into_path();
            let mut mode = std::fs::metadata(&path).unwrap().permissions().mode();
            mode |= if path.is_dir() || path == binary {
                0o555
            } else {
                0o444
            };
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Self { binary, as_root }
    }

    fn run(&self, world: &World, args: &[&str]) -> Outcome {
        let mut cmd = if self.as_root {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&self.binary);
            cmd
        } else {
            Command::new(&self.binary)
        };
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", world.tmp.path())
            .current_dir(world.tmp.path())
            .arg("--catalog")
            .arg(&world.catalog)
            .arg("--state-dir")
            .arg(&world.state)
            .args(args);
        let output = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?} (setpriv is in util-linux): {e}"));
        Outcome::from(output)
    }
}

/// Sets or clears the owner's (and everyone's) write bit on everything under `root`.
fn set_writable(root: &Path, writable: bool) {
    for entry in walkdir::WalkDir::new(root).contents_first(!writable) {
        let path = entry.unwrap().into_path();
        let mut mode = std::fs::metadata(&path).unwrap().permissions().mode();
        if writable {
            mode |= 0o200;
        } else {
            mode &= !0o222;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Every file under `root` with its size and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (e.into_path(), (meta.len(), meta.modified().unwrap()))
        })
        .collect()
}

#[test]
fn reading_commands_read_a_state_dir_they_cannot_write_and_change_nothing() {
    let world = World::new("engine");
    let (out, report) = world.run_json("t/hello", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let reader = Reader::new(&world);
    let before = snapshot(&world.state);

    let list = reader.run(&world, &["runs", "list", "--output", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains(&run_id), "{}", list.stdout);
    assert!(
        list.stderr
            .contains("is not writable by this user: reading it as it is"),
        "{}",
        list.stderr
    );
    let outputs = reader.run(&world, &["outputs", "t/hello", "--env", ENV]);
    assert_eq!(outputs.code, 0, "{}", outputs.stderr);
    assert_eq!(outputs.stdout, "message = hello world\n");
    for args in [
        vec!["runs", "show", run_id.as_str()],
        vec!["logs", run_id.as_str()],
        vec!["evidence", "verify", run_id.as_str()],
    ] {
        let read = reader.run(&world, &args);
        assert_eq!(read.code, 0, "{args:?}: {}", read.stderr);
    }
    // `-q` silences the warning, not the result.
    let quiet = reader.run(&world, &["-q", "runs", "list"]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""), "{quiet:?}");

    // Writing commands refuse up front, naming the state dir and the way out.
    for args in [
        vec!["run", "t/hello", "--env", ENV, "--output", "json"],
        vec!["runs", "prune", "--keep", "1", "--output", "json"],
    ] {
        let refused = reader.run(&world, &args);
        assert_eq!(refused.code, 1, "{args:?}: {}", refused.stdout);
        let error = refused.json();
        assert_eq!(error["code"], "hyops::state::read_only", "{error}");
        assert!(
            error["help"].as_str().unwrap().contains("`--state-dir`"),
            "{error}"
        );
    }
    assert_eq!(snapshot(&world.state), before, "the state dir changed");
    set_writable(&world.state, true);
}

#[test]
fn a_read_only_state_dir_without_a_ledger_says_nothing_ran_there() {
    let world = World::new("engine");
    std::fs::create_dir_all(&world.state).unwrap();
    let reader = Reader::new(&world);
    let list = reader.run(&world, &["runs", "list"]);
    assert_eq!(list.code, 1, "{}", list.stdout);
    assert!(
        list.stderr.contains("no ledger at")
            && list
                .stderr
                .contains("nothing has run with this state dir yet"),
        "{}",
        list.stderr
    );
    assert_eq!(std::fs::read_dir(&world.state).unwrap().count(), 0);
    set_writable(&world.state, true);
}
