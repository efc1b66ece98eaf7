//! Shared helpers: a hermetic `hyops` command, path filters for snapshots, a shell-driver stand-in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Variables a developer's shell may have set that would change what hyops does.
const HYOPS_VARS: &[&str] = &[
    "HYOPS_CATALOG",
    "HYOPS_STATE_DIR",
    "HYOPS_PLUGIN_PATH",
    "HYOPS_LOG",
    "NO_COLOR",
];

/// `hyops` with none of the developer's HYOPS_* variables, running in `cwd`.
pub fn hyops(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_hyops"));
    for var in HYOPS_VARS {
        cmd.env_remove(var);
    }
    cmd.current_dir(cwd);
    cmd
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes an executable file.
pub fn write_executable(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A minimal catalog root (only `hyops.yaml`).
pub fn make_catalog(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("hyops.yaml"),
        "apiVersion: hyops/v1\nkind: Catalog\nname: t\n",
    )
    .unwrap();
    dir.to_path_buf()
}

/// insta settings replacing `dir` with `[TMP]` and the version with `[VERSION]`.
pub fn snapshot_settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let real = dir.canonicalize().unwrap();
    for p in [real.display().to_string(), dir.display().to_string()] {
        settings.add_filter(&regex_escape(&p), "[TMP]");
    }
    settings.add_filter(&regex_escape(env!("CARGO_PKG_VERSION")), "[VERSION]");
    settings
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$#&-~".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text of stdout/stderr.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stands in for the shell driver's side of the contract (the real driver lives in
/// `hyops-drivers`): copies the pack to a fresh work dir, writes the inputs file (mode 0600),
/// exports `HYOPS_STAGE`, `HYOPS_INPUTS_FILE`, `HYOPS_INPUT_<NAME>` for non-secret inputs and
/// `HYOPS_OUTPUTS_FILE`, runs `<entry> <stage>` in the work dir with a cleared environment, and
/// returns the process output and the raw outputs object.
pub fn run_pack(
    pack_dir: &Path,
    entry: &str,
    stage: &str,
    inputs: &serde_json::Value,
    secret_names: &[&str],
    scratch: &Path,
) -> (Output, serde_json::Value) {
    use std::os::unix::fs::PermissionsExt;
    let work = scratch.join(format!("work-{stage}-{}", unique()));
    copy_dir(pack_dir, &work);
    let inputs_file = scratch.join(format!("inputs-{}.json", unique()));
    std::fs::write(&inputs_file, serde_json::to_vec(inputs).unwrap()).unwrap();
    std::fs::set_permissions(&inputs_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let outputs_file = work.join(".hyops-outputs.json");

    let mut cmd = std::process::Command::new(work.join(entry));
    cmd.arg(stage).current_dir(&work).env_clear();
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd.env("HYOPS_STAGE", stage);
    cmd.env("HYOPS_INPUTS_FILE", &inputs_file);
    cmd.env("HYOPS_OUTPUTS_FILE", &outputs_file);
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_value(inputs.clone()).unwrap();
    for (name, value) in map {
        if secret_names.contains(&name.as_str()) {
            continue;
        }
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        // Same mangling as the driver: upper-cased, non-alphanumerics become `_`.
        let var: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        cmd.env(format!("HYOPS_INPUT_{var}"), text);
    }
    let out = cmd.output().unwrap();
    let raw = std::fs::read(&outputs_file)
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out, raw)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Recursive copy keeping permissions (`fs::copy` copies mode bits).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET url` over plain HTTP/1.0 on loopback; returns (status, body).
pub fn http_get(host_port: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host_port)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
