//! The valid fixture catalog validates clean.

use crate::support::fixtures;

#[test]
fn basic_fixture_has_no_findings() {
    let report = hyops_catalog::validate(&fixtures().join("valid/basic"));
    assert!(report.diagnostics.is_empty(), "{}", report.render_text());
    assert_eq!(report.summary(), "0 errors, 0 warnings in 9 files");
}
