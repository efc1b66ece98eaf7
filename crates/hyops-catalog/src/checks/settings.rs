//! Profile `settings`: every key is one the profile's driver reads (`DriverName::settings`). A
//! typo (`puppett: true`) would otherwise be policy silently ignored.

use super::Checker;
use super::references::suggest;
use crate::codes;

pub(super) fn check(c: &mut Checker<'_>) {
    for p in c.catalog.profiles.values() {
        let driver = p.value.driver;
        let known: Vec<String> = driver.settings().iter().map(|k| (*k).to_owned()).collect();
        for key in p.value.settings.keys() {
            if known.contains(key) {
                continue;
            }
            let help = if known.is_empty() {
                format!("the {driver} driver reads no settings; remove `settings`")
            } else {
                format!(
                    "{} (docs/drivers/{driver}.md)",
                    suggest(&format!("{driver} settings"), key, known.iter())
                )
            };
            let diagnostic = p
                .error_at_key(
                    codes::UNKNOWN_SETTING,
                    format!("the {driver} driver has no setting `{key}`"),
                    &format!("settings.{key}"),
                    "unknown setting",
                )
                .with_help(help);
            c.push(diagnostic);
        }
    }
}
