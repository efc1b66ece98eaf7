//! Shared setup of the stack tests: a copy of `tests/fixtures/stack` (net -> db -> app,
//! zone -> cache), a marker folder each member's pack writes into, and `hyops` aimed at both.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::run_support::{Outcome, World, wait_for};

/// A stack test's world.
pub struct StackWorld {
    /// Catalog copy and state dir.
    pub world: World,
    /// Where packs leave `<member>.<stage>` markers and append to `order.log`.
    pub markers: PathBuf,
}

impl StackWorld {
    pub fn new() -> Self {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stack");
        let world = World::from_catalog(&from);
        let markers = world.scratch("markers");
        std::fs::create_dir_all(&markers).unwrap();
        Self { world, markers }
    }

    /// `hyops ARGS` with the marker folder passed to every member as input `marker_dir`.
    pub fn run(&self, args: &[&str]) -> Outcome {
        let mut cmd = self.world.cmd(args);
        cmd.env("HYOPS_INPUT_MARKER_DIR", &self.markers);
        Outcome::from(cmd.output().unwrap())
    }

    /// `hyops ARGS --output json`, parsed, with the exit code.
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--output", "json"]);
        let out = self.run(&all);
        (out.code, out.json())
    }

    /// Spawns `hyops ARGS` (output piped) and returns once member `name`'s slow tool has
    /// started (its `start <name>` line in `spans.log`).
    pub fn spawn_until_started(&self, args: &[&str], name: &str) -> std::process::Child {
        let mut cmd = self.world.cmd(args);
        cmd.env("HYOPS_INPUT_MARKER_DIR", &self.markers)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let spans = self.markers.join("spans.log");
        let line = format!("start {name}");
        wait_for(
            std::time::Duration::from_secs(60),
            &format!("{name}'s tool to start"),
            || {
                std::fs::read_to_string(&spans)
                    .is_ok_and(|s| s.contains(&line))
                    .then_some(())
            },
        );
        child
    }

    /// Whether member `name`'s process ever started `stage`.
    pub fn started(&self, name: &str, stage: &str) -> bool {
        self.markers.join(format!("{name}.{stage}")).exists()
    }

    /// Members in the order their processes started.
    pub fn order(&self) -> Vec<String> {
        std::fs::read_to_string(self.markers.join("order.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Forgets which processes started.
    pub fn clear_markers(&self) {
        std::fs::remove_dir_all(&self.markers).unwrap();
        std::fs::create_dir_all(&self.markers).unwrap();
    }
}

/// Member `name`'s entry in a stack summary.
pub fn member_of<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == name)
        .unwrap_or_else(|| panic!("no member {name}: {summary}"))
}

/// member -> (status, reused, reason) from a stack summary.
pub fn by_member(summary: &Value) -> std::collections::BTreeMap<String, (String, bool, String)> {
    summary["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["member"].as_str().unwrap().to_owned(),
                (
                    m["status"].as_str().unwrap().to_owned(),
                    m["reused"].as_bool().unwrap(),
                    m["reason"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}
