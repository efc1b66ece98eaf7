//! `file` probes: a path (relative to the attempt's work dir, or absolute) exists or must not,
//! and optionally contains a substring.

use std::fs;
use std::io::Read;

use hyops_contract::FileProbe;

use super::{Check, ProbeContext};

/// Largest prefix of a file searched for `contains`.
const READ_CAP: u64 = 16 * 1024 * 1024;

pub(super) fn expected(probe: &FileProbe) -> String {
    let path = &probe.path;
    match (probe.exists.unwrap_or(true), &probe.contains) {
        (true, Some(needle)) => format!("file {path:?} to exist and contain {needle:?}"),
        (true, None) => format!("file {path:?} to exist"),
        (false, _) => format!("file {path:?} not to exist"),
    }
}

pub(super) fn check(probe: &FileProbe, ctx: &ProbeContext) -> Check {
    let must_exist = probe.exists.unwrap_or(true);
    if !must_exist && probe.contains.is_some() {
        return Check::Final("`exists: false` together with `contains`".to_owned());
    }
    // `join` keeps absolute paths as they are.
    let path = ctx.work_dir.join(&probe.path);
    let exists = match fs::symlink_metadata(&path) {
        Ok(_) => true,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
        Err(err) => return Check::Retry(format!("an unreadable path ({err})")),
    };
    match (must_exist, exists) {
        (false, false) => Check::Pass("no such file".to_owned()),
        (false, true) => Check::Retry("the file present".to_owned()),
        (true, false) => Check::Retry("no such file".to_owned()),
        (true, true) => {
            let Some(needle) = &probe.contains else {
                return Check::Pass("the file present".to_owned());
            };
            let mut bytes = Vec::new();
            let read =
                fs::File::open(&path).and_then(|file| file.take(READ_CAP).read_to_end(&mut bytes));
            if let Err(err) = read {
                return Check::Retry(format!("an unreadable file ({err})"));
            }
            if String::from_utf8_lossy(&bytes).contains(needle.as_str()) {
                Check::Pass(format!("the file containing {needle:?}"))
            } else {
                Check::Retry(format!(
                    "the file without {needle:?} ({} bytes)",
                    bytes.len()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(path: &str, exists: Option<bool>, contains: Option<&str>) -> FileProbe {
        FileProbe {
            path: path.into(),
            exists,
            contains: contains.map(str::to_owned),
        }
    }

    fn ctx(dir: &std::path::Path) -> ProbeContext {
        ProbeContext {
            work_dir: dir.to_path_buf(),
            ..ProbeContext::default()
        }
    }

    #[test]
    fn relative_paths_resolve_in_the_work_dir() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("out/site.html"), "<h1>hello</h1>").unwrap();
        let ctx = ctx(dir.path());
        assert!(matches!(
            check(&probe("out/site.html", None, None), &ctx),
            Check::Pass(_)
        ));
        assert!(matches!(
            check(&probe("out/site.html", Some(true), Some("hello")), &ctx),
            Check::Pass(_)
        ));
        assert_eq!(
            check(&probe("out/site.html", None, Some("bye")), &ctx),
            Check::Retry("the file without \"bye\" (14 bytes)".into())
        );
        assert_eq!(
            check(&probe("out/missing", None, None), &ctx),
            Check::Retry("no such file".into())
        );
    }

    #[test]
    fn absolute_paths_and_must_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lock");
        fs::write(&file, "x").unwrap();
        let other = tempfile::tempdir().unwrap();
        let ctx = ctx(other.path());
        let abs = file.to_str().unwrap();
        assert_eq!(
            check(&probe(abs, Some(false), None), &ctx),
            Check::Retry("the file present".into())
        );
        fs::remove_file(&file).unwrap();
        assert_eq!(
            check(&probe(abs, Some(false), None), &ctx),
            Check::Pass("no such file".into())
        );
        assert!(matches!(
            check(&probe(abs, Some(false), Some("x")), &ctx),
            Check::Final(_)
        ));
    }

    #[test]
    fn expectation_text() {
        assert_eq!(
            expected(&probe("a", None, Some("b"))),
            "file \"a\" to exist and contain \"b\""
        );
        assert_eq!(
            expected(&probe("a", Some(false), None)),
            "file \"a\" not to exist"
        );
    }
}
