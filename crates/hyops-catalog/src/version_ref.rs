//! `name@<semver requirement>` references (profiles, packs). A bare major (`@1`) means `^1`.

use semver::{Version, VersionReq};

/// A parsed `name[@requirement]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedRef {
    /// The name before `@`.
    pub name: String,
    /// The requirement after `@`, if any (`*` when absent).
    pub req: Option<VersionReq>,
}

/// Parses `name` or `name@req`. Errors name what is wrong in lowercase.
pub fn parse_versioned_ref(text: &str) -> Result<VersionedRef, String> {
    let (name, req) = match text.split_once('@') {
        Some((n, r)) => (n.trim(), Some(r.trim())),
        None => (text.trim(), None),
    };
    if name.is_empty() {
        return Err(format!("`{text}` has an empty name before `@`"));
    }
    let req = match req {
        None => None,
        // semver's default operator is caret, so `1` and `1.2` already mean `^1` and `^1.2`.
        Some(r) => Some(
            VersionReq::parse(r).map_err(|e| format!("`{r}` is not a semver requirement: {e}"))?,
        ),
    };
    Ok(VersionedRef {
        name: name.to_string(),
        req,
    })
}

/// Parses a document version.
pub fn parse_version(text: &str) -> Result<Version, String> {
    Version::parse(text.trim()).map_err(|e| format!("`{text}` is not a semantic version: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_major_means_caret() {
        let r = parse_versioned_ref("web-site@1").unwrap();
        assert_eq!(r.name, "web-site");
        let req = r.req.unwrap();
        assert!(req.matches(&Version::parse("1.4.2").unwrap()));
        assert!(!req.matches(&Version::parse("2.0.0").unwrap()));
        assert_eq!(parse_versioned_ref("p").unwrap().req, None);
        assert!(parse_versioned_ref("p@nope").is_err());
        assert!(parse_versioned_ref("@1").is_err());
    }
}
