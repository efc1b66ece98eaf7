//! The packer builder catalog: canonical builder identifiers (`source.<type>.<name>`) parsed from a
//! packer pack's HCL `source` blocks, with the platform and OS each one targets, and the naming
//! policy profiles set per builder family (`settings.builder_naming`).

use std::collections::BTreeMap;
use std::path::Path;

use hcl_edit::Span as _;
use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::codes;
use crate::diagnostic::{Diagnostic, Span};
use crate::hcl_files::{hcl_files, parse_hcl};
use crate::source_file::SourceFile;

/// The default rule: ISO builders are named `<os>-<version>` (`source.proxmox-iso.ubuntu-22`).
pub const DEFAULT_ISO_PATTERN: &str = r"^[a-z][a-z0-9]*-[0-9]+(\.[0-9]+)*$";

/// One `source "<type>" "<name>"` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Builder {
    /// Canonical identifier, as `build.sources` and `packer build -only` name it: `source.<type>.<name>`.
    pub id: String,
    /// The builder (plugin) type: `proxmox-iso`, `null`.
    #[serde(rename = "type")]
    pub builder_type: String,
    /// The block's name label: `ubuntu-22`.
    pub name: String,
    /// The platform: the builder type up to its first `-` (`proxmox`, `null`).
    pub platform: String,
    /// The OS: the name up to its first `-` (`ubuntu`).
    pub os: String,
    /// The OS family (`linux`, `windows`, `bsd`, `macos`), or the OS itself when unknown.
    pub os_family: String,
    /// The pack it belongs to.
    pub pack: String,
    /// Catalog-relative file.
    pub file: String,
    /// 1-based line of the block.
    pub line: usize,
    /// 1-based column of the block.
    pub col: usize,
    /// Byte span of the name label (for diagnostics).
    #[serde(skip)]
    pub name_span: Span,
}

impl Builder {
    /// Whether the builder matches `--os` (OS or family) and `--platform` filters.
    pub fn matches(&self, os: Option<&str>, platform: Option<&str>) -> bool {
        os.is_none_or(|o| o == self.os || o == self.os_family)
            && platform.is_none_or(|p| p == self.platform || p == self.builder_type)
    }
}

/// Builders of one pack and the files they came from (for diagnostics).
#[derive(Debug, Default)]
pub struct PackBuilders {
    /// Every source block, in file then position order.
    pub builders: Vec<Builder>,
    /// The HCL files read, by catalog-relative path.
    pub files: BTreeMap<String, SourceFile>,
    /// Files that did not read or parse.
    pub errors: Vec<Diagnostic>,
}

/// The HCL files packer reads for `entry`: the entry file itself, or every `*.pkr.hcl` directly in
/// the entry folder (packer does not recurse), sorted.
pub fn template_files(pack_dir: &Path, entry: &str) -> Vec<String> {
    hcl_files(pack_dir, entry, ".pkr.hcl")
}

/// Reads the builders of the packer pack `packs/packer/<id>/` with entry `entry`.
pub fn pack_builders(catalog_root: &Path, id: &str, entry: &str) -> PackBuilders {
    let pack_rel = format!("packs/packer/{id}");
    let pack_dir = catalog_root.join(&pack_rel);
    let mut out = PackBuilders::default();
    for rel in template_files(&pack_dir, entry) {
        let file_rel = format!("{pack_rel}/{rel}");
        let file = match SourceFile::read(&pack_dir.join(&rel), &file_rel) {
            Ok(file) => file,
            Err(d) => {
                out.errors.push(*d);
                continue;
            }
        };
        match parse_hcl(&file, codes::PACKER_HCL, "packer template", "packer") {
            Err(d) => out.errors.push(*d),
            Ok(body) => {
                for block in body.get_blocks("source") {
                    let [kind, name] = block.labels.as_slice() else {
                        continue;
                    };
                    let start = block.span().map_or(0, |r| r.start);
                    let (line, col) = file.line_col(start);
                    let name_span = name
                        .span()
                        .map_or(Span::new(start, 0), |r| Span::new(r.start, r.len()));
                    out.builders.push(builder(
                        id,
                        &file_rel,
                        kind.as_str(),
                        name.as_str(),
                        (line, col),
                        name_span,
                    ));
                }
            }
        }
        out.files.insert(file_rel, file);
    }
    out
}

fn builder(
    pack: &str,
    file: &str,
    kind: &str,
    name: &str,
    (line, col): (usize, usize),
    name_span: Span,
) -> Builder {
    let platform = kind.split('-').next().unwrap_or(kind).to_owned();
    let os = name.split('-').next().unwrap_or(name).to_owned();
    Builder {
        id: format!("source.{kind}.{name}"),
        builder_type: kind.to_owned(),
        name: name.to_owned(),
        platform,
        os_family: os_family(&os).to_owned(),
        os,
        pack: pack.to_owned(),
        file: file.to_owned(),
        line,
        col,
        name_span,
    }
}

/// The family of a well-known OS name; unknown names are their own family.
pub fn os_family(os: &str) -> &str {
    match os {
        "ubuntu" | "debian" | "rhel" | "centos" | "rocky" | "alma" | "almalinux" | "fedora"
        | "oracle" | "ol" | "sles" | "opensuse" | "suse" | "alpine" | "arch" | "amazon"
        | "amzn" | "linux" => "linux",
        "windows" | "win" | "winserver" | "win2019" | "win2022" => "windows",
        "freebsd" | "openbsd" | "netbsd" => "bsd",
        "macos" | "darwin" => "macos",
        other => other,
    }
}

/// One naming rule: builder types matching `types` (a glob with `*`) must have names matching `pattern`.
#[derive(Debug, Clone)]
pub struct NamingRule {
    /// Glob over builder types.
    pub types: String,
    /// The pattern as written.
    pub pattern: String,
    regex: Regex,
}

impl NamingRule {
    /// A rule; the error explains a bad pattern.
    pub fn new(types: &str, pattern: &str) -> Result<Self, String> {
        let regex = Regex::new(pattern).map_err(|e| e.to_string())?;
        Ok(Self {
            types: types.to_owned(),
            pattern: pattern.to_owned(),
            regex,
        })
    }

    /// Whether the rule governs this builder type.
    pub fn applies_to(&self, builder_type: &str) -> bool {
        glob_match(&self.types, builder_type)
    }

    /// Whether a name follows the rule.
    pub fn accepts(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }
}

/// The naming policy of a profile: `settings.builder_naming: {<type glob>: <regex>}`; without
/// it, ISO builders (`*-iso`) must be named `<os>-<version>`.
#[derive(Debug, Clone)]
pub struct BuilderNaming {
    /// Rules in glob order; every rule that applies must accept the name.
    pub rules: Vec<NamingRule>,
}

impl Default for BuilderNaming {
    fn default() -> Self {
        Self {
            rules: vec![
                NamingRule::new("*-iso", DEFAULT_ISO_PATTERN)
                    .expect("the default pattern is a valid regex"),
            ],
        }
    }
}

impl BuilderNaming {
    /// Reads `builder_naming` from profile settings; the error says what is wrong.
    pub fn from_settings(settings: &BTreeMap<String, Value>) -> Result<Self, String> {
        let Some(value) = settings.get("builder_naming") else {
            return Ok(Self::default());
        };
        let Value::Object(map) = value else {
            return Err(
                "`settings.builder_naming` must map builder type globs to name patterns".into(),
            );
        };
        let mut rules = Vec::new();
        for (types, pattern) in map {
            let Value::String(pattern) = pattern else {
                return Err(format!(
                    "`settings.builder_naming.{types}` must be a regular expression string"
                ));
            };
            rules.push(NamingRule::new(types, pattern).map_err(|e| {
                format!("`settings.builder_naming.{types}` is not a valid regex: {e}")
            })?);
        }
        Ok(Self { rules })
    }

    /// The first rule the builder breaks.
    pub fn violation(&self, b: &Builder) -> Option<&NamingRule> {
        self.rules
            .iter()
            .find(|r| r.applies_to(&b.builder_type) && !r.accepts(&b.name))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_source_blocks_into_canonical_ids() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("packs/packer/img");
        std::fs::create_dir_all(&pack).unwrap();
        std::fs::write(
            pack.join("b.pkr.hcl"),
            "source \"proxmox-iso\" \"ubuntu-22\" {\n}\nsource \"null\" \"x\" {\n  communicator = \"none\"\n}\n",
        )
        .unwrap();
        std::fs::write(pack.join("notes.txt"), "source \"no\" \"no\" {}").unwrap();
        let found = pack_builders(dir.path(), "img", ".");
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        let ids: Vec<&str> = found.builders.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["source.proxmox-iso.ubuntu-22", "source.null.x"]);
        let b = &found.builders[0];
        assert_eq!((b.platform.as_str(), b.os.as_str()), ("proxmox", "ubuntu"));
        assert!(b.matches(Some("linux"), Some("proxmox")));
        assert!(!b.matches(Some("windows"), None));
        assert_eq!((found.builders[1].line, found.builders[1].col), (3, 1));
    }

    #[test]
    fn invalid_hcl_is_a_located_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("packs/packer/img");
        std::fs::create_dir_all(&pack).unwrap();
        std::fs::write(pack.join("b.pkr.hcl"), "source \"null\" \"x\" {\n  a = \n").unwrap();
        let found = pack_builders(dir.path(), "img", ".");
        assert_eq!(found.errors.len(), 1);
        assert_eq!(found.errors[0].code, codes::PACKER_HCL);
        assert_eq!(
            found.errors[0].file.as_deref(),
            Some("packs/packer/img/b.pkr.hcl")
        );
    }

    #[test]
    fn default_naming_governs_iso_builders_only() {
        let naming = BuilderNaming::default();
        let mk = |t: &str, n: &str| builder("p", "f", t, n, (1, 1), Span::new(0, 0));
        assert!(naming.violation(&mk("proxmox-iso", "ubuntu-22")).is_none());
        assert!(
            naming
                .violation(&mk("proxmox-iso", "ubuntu-22.04"))
                .is_none()
        );
        assert!(naming.violation(&mk("proxmox-iso", "my_image")).is_some());
        assert!(naming.violation(&mk("null", "anything_goes")).is_none());
    }

    #[test]
    fn profile_rules_replace_the_default() {
        let settings = BTreeMap::from([(
            "builder_naming".to_owned(),
            serde_json::json!({ "null": "^t-" }),
        )]);
        let naming = BuilderNaming::from_settings(&settings).unwrap();
        let mk = |t: &str, n: &str| builder("p", "f", t, n, (1, 1), Span::new(0, 0));
        assert!(naming.violation(&mk("null", "t-1")).is_none());
        assert!(naming.violation(&mk("null", "x")).is_some());
        let bad = BTreeMap::from([(
            "builder_naming".to_owned(),
            serde_json::json!({ "null": "(" }),
        )]);
        assert!(BuilderNaming::from_settings(&bad).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("*-iso", "proxmox-iso"));
        assert!(!glob_match("*-iso", "proxmox-clone"));
        assert!(glob_match("*", "null"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "ac"));
    }
}
