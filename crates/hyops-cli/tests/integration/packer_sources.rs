//! `hyops sources sync [--frozen]` against real git repositories made by the test (file:// URLs):
//! SHAs pinned in hyops.lock, dirty checkouts refused, `--frozen` catching a moved branch, and a
//! packer pack building from the pinned source by name.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::packer_run::PkWorld;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn commit(repo: &Path, file: &str, text: &str) -> String {
    std::fs::write(repo.join(file), text).unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", text]);
    git(repo, &["rev-parse", "HEAD"])
}

fn lock(w: &PkWorld) -> Value {
    serde_json::from_str(&std::fs::read_to_string(w.world.catalog.join("hyops.lock")).unwrap())
        .unwrap()
}

/// Declares `repo` as source `images` and makes the null-img pack build from it: its
/// shell-local runs `before_copy` (shell commands, may be empty), then copies `motd.txt` from
/// the source to the output folder.
fn build_from_source(w: &PkWorld, repo: &Path, before_copy: &str) {
    let manifest = w.world.catalog.join("hyops.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!(
            "{text}sources:\n  - {{ name: images, url: \"file://{}\", ref: main }}\n",
            repo.display()
        ),
    )
    .unwrap();
    let pack = w.world.catalog.join("packs/packer/null-img");
    let yaml = std::fs::read_to_string(pack.join("pack.yaml")).unwrap();
    std::fs::write(pack.join("pack.yaml"), format!("{yaml}source: images\n")).unwrap();
    let hcl = std::fs::read_to_string(pack.join("build.pkr.hcl")).unwrap();
    let before = if before_copy.is_empty() {
        String::new()
    } else {
        format!("      \"{before_copy}\",\n")
    };
    let hcl = hcl
        .replace(
            "variable \"greeting\" {",
            "variable \"hyops_source_dir\" {\n  type = string\n}\nvariable \"greeting\" {",
        )
        .replace(
            "      \"test -f ${var.hyops_ansible_playbook}\",",
            &format!("      \"test -f ${{var.hyops_ansible_playbook}}\",\n{before}      \"cp ${{var.hyops_source_dir}}/motd.txt ${{var.out_dir}}/motd.txt\","),
        );
    std::fs::write(pack.join("build.pkr.hcl"), hcl).unwrap();
}

#[test]
fn sync_pins_refuses_dirty_and_frozen_catches_a_moved_branch() {
    let w = PkWorld::new();
    let repo = w.world.scratch("origin");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let first = commit(&repo, "motd.txt", "from-source-v1");
    build_from_source(&w, &repo, "");

    // Before any sync the run refuses: the source is not pinned.
    let (out, report) = w.hyops(&["run", "img/null", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let message = report["attempts"][0]["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("hyops sources sync"), "{report:#}");

    // validate says so too, as a warning at the source's declaration.
    let report = w.ok(&["validate"]);
    assert_eq!(report["warnings"], 1, "{report:#}");
    assert_eq!(
        report["diagnostics"][0]["code"],
        "hyops::catalog::source_not_pinned"
    );
    assert_eq!(report["diagnostics"][0]["file"], "hyops.yaml");

    let synced = w.ok(&["sources", "sync"]);
    assert_eq!(synced["sources"][0]["action"], "cloned", "{synced:#}");
    assert_eq!(w.ok(&["validate"])["warnings"], 0);
    assert_eq!(lock(&w)["sources"]["images"]["commit"], first.as_str());
    let checkout = w.world.state.join("sources/images");
    assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), first);

    let run = w.ok(&["run", "img/null", "--env", "dev"]);
    assert_eq!(run["status"], "passed", "{run:#}");
    assert_eq!(
        std::fs::read_to_string(w.out_dir.join("motd.txt")).unwrap(),
        "from-source-v1"
    );
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(w.world.state.join("packer-state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["sources"]["images"]["commit"], first.as_str());

    // Local changes in the checkout: refused, nothing moved.
    std::fs::write(checkout.join("motd.txt"), "local edit").unwrap();
    let (out, report) = w.hyops(&["sources", "sync"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(report["code"], "hyops::sources::dirty", "{report:#}");
    git(&checkout, &["checkout", "--", "motd.txt"]);

    // The branch moves upstream: --frozen fails, a plain sync moves the pin.
    let second = commit(&repo, "motd.txt", "from-source-v2");
    let (out, report) = w.hyops(&["sources", "sync", "--frozen"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(report["code"], "hyops::sources::frozen", "{report:#}");
    assert_eq!(lock(&w)["sources"]["images"]["commit"], first.as_str());
    let moved = w.ok(&["sources", "sync"]);
    assert_eq!(moved["sources"][0]["action"], "updated", "{moved:#}");
    assert_eq!(lock(&w)["sources"]["images"]["commit"], second.as_str());
    let frozen = w.ok(&["sources", "sync", "--frozen"]);
    assert_eq!(frozen["sources"][0]["action"], "unchanged", "{frozen:#}");

    // Promotion needs a PASS in dev of what would run in prod: not the build of the old pin.
    let (out, refused) = w.hyops(&["promote", "img/null", "--from", "dev", "--to", "prod"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(refused["result"], "refused", "{refused:#}");

    // The moved pin is part of the request: a new fingerprint, and the build uses the new commit.
    let rebuilt = w.ok(&["run", "img/null", "--env", "dev"]);
    assert_eq!(rebuilt["status"], "passed", "{rebuilt:#}");
    assert_ne!(rebuilt["fingerprint"], run["fingerprint"], "{rebuilt:#}");
    let request: Value = serde_json::from_str(
        &std::fs::read_to_string(w.evidence(&rebuilt).join("request.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(request["pack"]["source_commit"], second.as_str());
    assert_eq!(
        std::fs::read_to_string(w.out_dir.join("motd.txt")).unwrap(),
        "from-source-v2"
    );
    let promoted = w.ok(&["promote", "img/null", "--from", "dev", "--to", "prod"]);
    assert_eq!(promoted["result"], "passed", "{promoted:#}");
}

#[test]
fn every_failing_source_is_reported_and_the_lock_keeps_its_pins() {
    let w = PkWorld::new();
    let repo = w.world.scratch("origin");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let first = commit(&repo, "motd.txt", "v1");
    let manifest = w.world.catalog.join("hyops.yaml");
    let base = std::fs::read_to_string(&manifest).unwrap();
    let url = format!("file://{}", repo.display());
    let write =
        |sources: &str| std::fs::write(&manifest, format!("{base}sources:\n{sources}")).unwrap();
    write(&format!(
        "  - {{ name: good, url: \"{url}\", ref: main }}\n"
    ));
    w.ok(&["sources", "sync"]);
    assert_eq!(lock(&w)["sources"]["good"]["commit"], first);
    // The branch moves, and two broken sources join: both are named in one report, and the
    // lock keeps `good`'s old pin rather than a partial rewrite.
    commit(&repo, "motd.txt", "v2");
    write(&format!(
        "  - {{ name: good, url: \"{url}\", ref: main }}\n  - {{ name: badref, url: \"{url}\", ref: nope }}\n  - {{ name: badurl, url: \"file://{}\", ref: main }}\n",
        w.world.scratch("missing").display()
    ));
    let (out, report) = w.hyops(&["sources", "sync"]);
    assert_eq!(out.code, 1, "{report:#}");
    assert_eq!(report["code"], "hyops::sources::several", "{report:#}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.starts_with("2 of 3 sources failed to sync"),
        "{message}"
    );
    assert!(
        message.contains("ref `nope` of source `badref`"),
        "{message}"
    );
    assert!(message.contains("for source `badurl`"), "{message}");
    assert_eq!(lock(&w)["sources"]["good"]["commit"], first);
    assert!(lock(&w)["sources"].get("badref").is_none());
}

#[test]
fn sync_waits_for_a_build_reading_the_source() {
    let w = PkWorld::new();
    let repo = w.world.scratch("origin");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "motd.txt", "from-source-v1");
    build_from_source(&w, &repo, "sleep 2");
    w.ok(&["sources", "sync"]);
    commit(&repo, "motd.txt", "from-source-v2");

    // A build from v1 is sleeping before it copies from the checkout; a sync moving the
    // checkout to v2 meanwhile must wait for it to end.
    let mut build = w
        .cmd(&["run", "img/null", "--env", "dev", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let greeting = w.out_dir.join("greeting.txt");
    crate::run_support::wait_for(
        std::time::Duration::from_secs(60),
        "the build's provisioner to start",
        || greeting.exists().then_some(()),
    );
    let (out, synced) = w.hyops(&["sources", "sync"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(synced["sources"][0]["action"], "updated", "{synced:#}");
    assert!(
        out.stderr
            .contains("waiting for the packer builds reading sources"),
        "{}",
        out.stderr
    );
    // By the time the sync moved the checkout, the build had ended, with what it pinned.
    let ended = build.try_wait().unwrap();
    assert!(
        ended.is_some(),
        "the sync returned while the build was still running"
    );
    let report = build.wait_with_output().unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(w.out_dir.join("motd.txt")).unwrap(),
        "from-source-v1"
    );
}
