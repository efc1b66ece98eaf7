//! Embeds the build identity (`hyops identity`, `hyops --version`) as compile-time environment
//! variables. Never fails the build: anything it cannot learn becomes `unknown`.
//!
//! No timestamp is recorded: two builds of the same commit with the same toolchain must report the
//! same identity (time is recorded, never identity).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HYOPS_BUILD_GIT_COMMIT");

    // A packager building from a tarball may know the commit; let them say so.
    let commit = match std::env::var("HYOPS_BUILD_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => git_commit(&manifest_dir).unwrap_or_else(|| "unknown".to_string()),
    };
    let rustc = std::env::var_os("RUSTC")
        .and_then(|rustc| command_stdout(Command::new(rustc).arg("-V")))
        .unwrap_or_else(|| "unknown".to_string());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_string());

    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_string))
        .map(|f| f.to_lowercase().replace('_', "-"))
        .collect();
    features.sort();

    println!("cargo:rustc-env=HYOPS_BUILD_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=HYOPS_BUILD_RUSTC={rustc}");
    println!("cargo:rustc-env=HYOPS_BUILD_TARGET={target}");
    println!("cargo:rustc-env=HYOPS_BUILD_PROFILE={profile}");
    println!(
        "cargo:rustc-env=HYOPS_BUILD_FEATURES={}",
        features.join(",")
    );
}

/// The short commit of the repository this crate is tracked in, or `None` when git is missing, the
/// source is not a checkout (a tarball), or the enclosing repository is some unrelated one (a
/// tarball unpacked inside another checkout must not borrow that checkout's commit).
fn git_commit(manifest_dir: &Path) -> Option<String> {
    let git =
        |args: &[&str]| command_stdout(Command::new("git").arg("-C").arg(manifest_dir).args(args));

    // Re-run when HEAD moves: HEAD itself (per worktree), the branch ref it points to, packed refs.
    // Registered before the checks below so a first commit of this file is noticed too.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        rerun_if_exists(&Path::new(&git_dir).join("HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
        let common = manifest_dir.join(common);
        rerun_if_exists(&common.join("packed-refs"));
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            rerun_if_exists(&common.join(head_ref));
        }
    }

    // Only trust the repository if it actually tracks this crate's build script.
    git(&["ls-files", "--error-unmatch", "build.rs"])?;
    git(&["rev-parse", "--short=12", "HEAD"])
}

/// Cargo re-runs the script on every build when told to watch a missing file, so only watch real ones.
fn rerun_if_exists(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Trimmed stdout of a successful command with non-empty output.
fn command_stdout(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(std::process::Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty() && !text.contains('\n')).then_some(text)
}
