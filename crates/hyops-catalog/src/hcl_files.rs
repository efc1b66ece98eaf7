//! The HCL files a tool reads from a pack, and their syntax check: packer's `*.pkr.hcl` and
//! terraform's `*.tf` directly in the entry folder (neither tool recurses), parsed with hcl-edit
//! so `hyops validate` reports a syntax error with its file, line and column before any run.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::source_file::SourceFile;
use crate::walk::sorted_names;

/// Pack-relative paths of the files ending in `suffix` that a tool reads for `entry`: the entry
/// file itself, or every such file directly in the entry folder, sorted.
pub fn hcl_files(pack_dir: &Path, entry: &str, suffix: &str) -> Vec<String> {
    let entry = entry.trim_start_matches("./").trim_end_matches('/');
    let (base, prefix) = if entry.is_empty() || entry == "." {
        (pack_dir.to_path_buf(), String::new())
    } else {
        (pack_dir.join(entry), format!("{entry}/"))
    };
    if base.is_file() {
        return vec![entry.to_owned()];
    }
    sorted_names(&base, |e, n| n.ends_with(suffix) && e.path().is_file())
        .into_iter()
        .map(|n| format!("{prefix}{n}"))
        .collect()
}

/// Parses one HCL file; the error (`<what> is not valid HCL: …`) is located at the parser's
/// position, and its help suggests `<tool> fmt`.
pub fn parse_hcl(
    file: &SourceFile,
    code: &'static str,
    what: &str,
    tool: &str,
) -> Result<hcl_edit::structure::Body, Box<Diagnostic>> {
    hcl_edit::parser::parse_body(&file.text).map_err(|e| {
        let loc = e.location();
        let offset = file.offset_of(loc.line(), loc.column());
        Box::new(
            Diagnostic::error(code, format!("{what} is not valid HCL: {}", e.message()))
                .at(file, Span::new(offset, 0), "here")
                .with_help(format!(
                    "run `{tool} fmt` on the pack, or fix the syntax by hand"
                )),
        )
    })
}
