//! Source pins: every source declared in `hyops.yaml` should be pinned in `hyops.lock` with the
//! URL and ref declared. A missing or stale pin is a warning (the catalog is still valid; runs
//! of packs building from the source are refused until `hyops sources sync` pins it).

use super::Checker;
use crate::codes;
use crate::diagnostic::Diagnostic;

pub(super) fn check(c: &mut Checker<'_>) {
    let cat = c.catalog;
    let Some(manifest) = &cat.manifest else {
        return;
    };
    let help = "run `hyops sources sync` and commit hyops.lock";
    for (i, source) in manifest.value.sources.iter().enumerate() {
        let pin = cat.lock.as_ref().and_then(|l| l.sources.get(&source.name));
        let (message, field, label) = match pin {
            None => (
                format!(
                    "source `{}` is not pinned in hyops.lock: runs of packs building from it are refused until it is",
                    source.name
                ),
                "name",
                "not pinned",
            ),
            Some(pin) if pin.url != source.url => (
                format!(
                    "source `{}` is pinned from `{}` in hyops.lock, not from this url: the pinned commit may not exist here",
                    source.name, pin.url
                ),
                "url",
                "differs from the pinned url",
            ),
            Some(pin) if pin.git_ref != source.git_ref => (
                format!(
                    "source `{}` is pinned at ref `{}` in hyops.lock ({}), not at this ref: runs build the old pin",
                    source.name, pin.git_ref, pin.commit
                ),
                "ref",
                "differs from the pinned ref",
            ),
            Some(_) => continue,
        };
        c.push(
            Diagnostic::warning(codes::SOURCE_NOT_PINNED, message)
                .at(
                    &manifest.file,
                    manifest.span_of(&format!("sources[{i}].{field}")),
                    label,
                )
                .with_help(help),
        );
    }
}
