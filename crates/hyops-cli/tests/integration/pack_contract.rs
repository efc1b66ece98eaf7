//! The shipped shell packs (quickstart and `init`) honour the shell driver contract: run as
//! `<entry> plan|apply|destroy` in a copy of the pack, inputs from `HYOPS_INPUT_<NAME>` and
//! `HYOPS_INPUTS_FILE`, raw outputs as a JSON object in `HYOPS_OUTPUTS_FILE`; apply is idempotent
//! and destroy cleans up (including the detached web server).

use std::path::PathBuf;

use serde_json::json;

use crate::common::{free_port, http_get, hyops, repo_root, run_pack, text};

fn quickstart_pack(id: &str) -> PathBuf {
    repo_root().join("examples/quickstart/packs/shell").join(id)
}

fn assert_ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn site_content_renders_the_page_idempotently_and_destroy_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let inputs = json!({ "data_dir": data, "greeting": "hi <you>", "title": "t" });
    let pack = quickstart_pack("site-content");

    let (out, raw) = run_pack(&pack, "run.sh", "plan", &inputs, &[], tmp.path());
    assert_ok(&out, "plan");
    assert_eq!(raw, json!({}));
    assert!(!data.exists(), "plan changes nothing");

    for _ in 0..2 {
        let (out, raw) = run_pack(&pack, "run.sh", "apply", &inputs, &[], tmp.path());
        assert_ok(&out, "apply");
        let index = PathBuf::from(raw["index_file"].as_str().unwrap());
        assert_eq!(raw["site_dir"], json!(data.join("site-content/www")));
        let page = std::fs::read_to_string(index).unwrap();
        assert!(page.contains("hi &lt;you&gt;"), "{page}");
    }
    let (out, _) = run_pack(&pack, "run.sh", "destroy", &inputs, &[], tmp.path());
    assert_ok(&out, "destroy");
    assert!(!data.join("site-content").exists());
}

#[test]
fn site_server_serves_the_greeting_survives_reapply_and_stops_on_destroy() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let inputs = json!({
        "data_dir": tmp.path().join("data"), "port": port, "greeting": "hello from test", "site_dir": ""
    });
    let pack = quickstart_pack("site-server");

    let (out, raw) = run_pack(&pack, "run.sh", "apply", &inputs, &[], tmp.path());
    // Whatever happens next, never leave a server behind.
    let _guard = DestroyOnDrop {
        inputs: inputs.clone(),
        scratch: tmp.path().to_path_buf(),
    };
    assert_ok(&out, "apply");
    assert_eq!(raw["url"], json!(format!("http://{addr}")));
    let pid = std::fs::read_to_string(raw["pid_file"].as_str().unwrap()).unwrap();

    let (status, body) = http_get(&addr, "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("hello from test"), "{body}");

    let (out, _) = run_pack(&pack, "run.sh", "apply", &inputs, &[], tmp.path());
    assert_ok(&out, "second apply");
    assert!(
        text(&out.stdout).contains("already running"),
        "{}",
        text(&out.stdout)
    );
    let pid_again = std::fs::read_to_string(raw["pid_file"].as_str().unwrap()).unwrap();
    assert_eq!(pid, pid_again, "idempotent apply keeps the same server");

    let (out, _) = run_pack(&pack, "run.sh", "destroy", &inputs, &[], tmp.path());
    assert_ok(&out, "destroy");
    assert!(
        http_get(&addr, "/").is_err(),
        "server still answers after destroy"
    );
    let (out, _) = run_pack(&pack, "run.sh", "destroy", &inputs, &[], tmp.path());
    assert_ok(&out, "second destroy");
}

#[test]
fn site_server_apply_fails_when_the_port_is_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let inputs = json!({
        "data_dir": tmp.path().join("data"), "port": port, "greeting": "g", "site_dir": ""
    });
    let _guard = DestroyOnDrop {
        inputs: inputs.clone(),
        scratch: tmp.path().to_path_buf(),
    };
    let (out, _) = run_pack(
        &quickstart_pack("site-server"),
        "run.sh",
        "apply",
        &inputs,
        &[],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("did not start"),
        "{}",
        text(&out.stderr)
    );
}

struct DestroyOnDrop {
    inputs: serde_json::Value,
    scratch: PathBuf,
}

impl Drop for DestroyOnDrop {
    fn drop(&mut self) {
        let _ = run_pack(
            &quickstart_pack("site-server"),
            "run.sh",
            "destroy",
            &self.inputs,
            &[],
            &self.scratch,
        );
    }
}

#[test]
fn app_config_keeps_the_secret_out_of_env_argv_and_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let token = "s3cr3t-token-value";
    let inputs = json!({
        "data_dir": tmp.path().join("data"), "app_name": "qs", "replicas": 3, "api_token": token
    });
    let pack = quickstart_pack("app-config");
    let (out, raw) = run_pack(
        &pack,
        "run.sh",
        "apply",
        &inputs,
        &["api_token"],
        tmp.path(),
    );
    assert_ok(&out, "apply");
    assert!(!text(&out.stdout).contains(token) && !text(&out.stderr).contains(token));
    assert_eq!(raw["replicas"], json!(3));
    let fingerprint = raw["token_fingerprint"].as_str().unwrap();
    assert!(
        fingerprint.starts_with("sha256:") && fingerprint.len() == 7 + 16,
        "{fingerprint}"
    );
    assert!(!raw.to_string().contains(token), "outputs leak the token");

    let config = PathBuf::from(raw["config_path"].as_str().unwrap());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(written["api_token"], token);

    let (out, _) = run_pack(
        &pack,
        "run.sh",
        "destroy",
        &inputs,
        &["api_token"],
        tmp.path(),
    );
    assert_ok(&out, "destroy");
    assert!(!config.exists());
}

#[test]
fn init_pack_writes_the_greeting_in_its_out_dir() {
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path())
        .args(["init", "c", "-q"])
        .assert()
        .success();
    let pack = tmp.path().join("c/packs/shell/hello");
    let out_dir = tmp.path().join("greetings");
    let inputs = json!({ "greeting": "hi", "audience": "developers", "out_dir": out_dir });
    let (out, raw) = run_pack(&pack, "run.sh", "apply", &inputs, &[], tmp.path());
    assert_ok(&out, "apply");
    assert_eq!(raw["message"], "hi, developers!");
    assert_eq!(
        raw["greeting_file"].as_str().unwrap(),
        out_dir.join("greeting.txt").to_str().unwrap()
    );
    let file = std::fs::read_to_string(raw["greeting_file"].as_str().unwrap()).unwrap();
    assert_eq!(file, "hi, developers!\n");
    let (out, raw) = run_pack(&pack, "run.sh", "bogus", &inputs, &[], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(raw, serde_json::Value::Null);
}
