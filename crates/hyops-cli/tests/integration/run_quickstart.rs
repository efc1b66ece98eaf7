//! The quickstart catalog end to end through `hyops run`: every module passes with probes of every
//! kind (command, file, output, tcp, http), and its outputs are readable afterwards.

use std::collections::BTreeSet;

use crate::common::{free_port, repo_root};
use crate::run_support::World;

/// Stops the detached web server site/server starts if the test fails before `destroy` does.
struct StopServer(std::path::PathBuf);

impl Drop for StopServer {
    fn drop(&mut self) {
        let pid_file = self.0.join("site-server/server.pid");
        if let Some(pid) = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn quickstart_runs_end_to_end_with_every_probe_kind_passing() {
    let world = World::from_catalog(&repo_root().join("examples/quickstart"));
    let data_dir = world.scratch("data");
    let port = free_port().to_string();
    let _stop_server = StopServer(data_dir.clone());
    let hyops = |args: &[&str]| {
        let mut cmd = world.cmd(args);
        cmd.env("HYOPS_INPUT_DATA_DIR", &data_dir)
            .env("QUICKSTART_API_TOKEN", "quickstart-test-token-1");
        crate::run_support::Outcome::from(cmd.output().unwrap())
    };

    let mut kinds = BTreeSet::new();
    for (target, file) in [
        ("site/content", "modules/site/content/module.yaml"),
        ("site/server", "modules/site/server/module.yaml"),
        ("app/config", "modules/app/config/module.yaml"),
    ] {
        let set_port = format!("port={port}");
        let mut args = vec!["run", target, "--env", "dev", "--output", "json"];
        if target == "site/server" {
            args.extend(["--set", set_port.as_str()]);
        }
        let out = hyops(&args);
        assert_eq!(out.code, 0, "{target}: {}\n{}", out.stdout, out.stderr);
        let report = out.json();
        assert_eq!(report["status"], "passed", "{target}: {report:#}");

        // Every probe the module declares ran and passed.
        let text = std::fs::read_to_string(world.catalog.join(file)).unwrap();
        let module: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let declared = module["probes"].as_array().unwrap();
        let ran = report["attempts"][0]["probes"].as_array().unwrap();
        assert_eq!(ran.len(), declared.len(), "{target}: {report:#}");
        for probe in declared {
            let name = probe["name"].as_str().unwrap();
            let result = ran.iter().find(|r| r["name"] == name).unwrap();
            assert_eq!(result["passed"], true, "{target}: {result:#}");
            for kind in ["command", "http", "tcp", "file", "output"] {
                if probe.get(kind).is_some() {
                    kinds.insert(kind);
                }
            }
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["command", "file", "http", "output", "tcp"]),
        "the quickstart must exercise every probe kind"
    );

    // Outputs are readable from the passed runs.
    let content = hyops(&[
        "outputs",
        "site/content",
        "--env",
        "dev",
        "--output",
        "json",
    ]);
    assert_eq!(content.code, 0, "{}", content.stderr);
    let content = content.json();
    assert!(
        content["outputs"]["index_file"]
            .as_str()
            .unwrap()
            .ends_with("site-content/www/index.html"),
        "{content:#}"
    );
    let server = hyops(&["outputs", "site/server", "--env", "dev"]);
    assert_eq!(server.code, 0, "{}", server.stderr);
    assert!(
        server
            .stdout
            .contains(&format!("url = http://127.0.0.1:{port}")),
        "{}",
        server.stdout
    );
    let config = hyops(&["outputs", "app/config", "--env", "dev", "--output", "json"]);
    assert_eq!(config.code, 0, "{}", config.stderr);
    let fingerprint = config.json()["outputs"]["token_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fingerprint.starts_with("sha256:"), "{fingerprint}");

    // Stop the detached server the site/server module started.
    let set_port = format!("port={port}");
    let destroy = hyops(&[
        "destroy",
        "site/server",
        "--env",
        "dev",
        "--set",
        &set_port,
        "--yes",
    ]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    assert!(
        crate::common::http_get(&format!("127.0.0.1:{port}"), "/").is_err(),
        "the server still answers after destroy"
    );
}
