//! Every YAML document of the quickstart example, the `init` templates and a fresh `hyops init`
//! parses into the `hyops-contract` wire types, and the cross-file basics hold (ids match folders,
//! references exist, entries are executable, required inputs are set per environment). Keeps the
//! shipped catalogs valid until `hyops validate` checks them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hyops_contract::{Catalog, Environment, Module, Pack, Profile, Stack};

use crate::common::{hyops, repo_root};

#[derive(Default)]
struct Parsed {
    catalog: Option<Catalog>,
    modules: BTreeMap<String, (PathBuf, Module)>,
    profiles: BTreeMap<String, Profile>,
    packs: BTreeMap<(String, String), (PathBuf, Pack)>,
    environments: BTreeMap<String, Environment>,
    stacks: BTreeMap<String, Stack>,
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Parses every document of the catalog at `root`, by where it lives.
fn parse_catalog(root: &Path) -> Parsed {
    let mut files = Vec::new();
    yaml_files(root, &mut files);
    let mut parsed = Parsed::default();
    for path in files {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = rel.split('/').collect();
        match parts.as_slice() {
            ["hyops.yaml"] => parsed.catalog = Some(parse(&path)),
            ["modules", .., "module.yaml"] => {
                let m: Module = parse(&path);
                let folder = parts[1..parts.len() - 1].join("/");
                assert_eq!(m.id, folder, "{rel}: module id must equal its folder path");
                parsed.modules.insert(m.id.clone(), (path.clone(), m));
            }
            ["profiles", _] => {
                let p: Profile = parse(&path);
                assert_eq!(p.name, stem(&path), "{rel}");
                parsed.profiles.insert(p.name.clone(), p);
            }
            ["packs", driver, id, "pack.yaml"] => {
                let p: Pack = parse(&path);
                assert_eq!(&p.id, id, "{rel}");
                assert_eq!(p.driver.as_str(), *driver, "{rel}");
                parsed
                    .packs
                    .insert((driver.to_string(), id.to_string()), (path.clone(), p));
            }
            ["environments", _] => {
                let e: Environment = parse(&path);
                assert_eq!(e.name, stem(&path), "{rel}");
                parsed.environments.insert(e.name.clone(), e);
            }
            ["stacks", _] => {
                let s: Stack = parse(&path);
                assert_eq!(s.name, stem(&path), "{rel}");
                parsed.stacks.insert(s.name.clone(), s);
            }
            other => panic!("unexpected YAML file {other:?}"),
        }
    }
    parsed
}

/// The cross-file checks a user would otherwise only learn about from `hyops validate`.
fn check_references(root: &Path, p: &Parsed) {
    assert!(p.catalog.is_some(), "{}: no hyops.yaml", root.display());
    assert!(!p.modules.is_empty());
    for (id, (path, m)) in &p.modules {
        let profile = m.execution.profile.split('@').next().unwrap();
        assert!(
            p.profiles.contains_key(profile),
            "{id}: unknown profile {profile}"
        );
        let pack_id = m.execution.pack_ref.id.split('@').next().unwrap();
        let key = (m.execution.driver.as_str().to_string(), pack_id.to_string());
        let (pack_path, pack) = p
            .packs
            .get(&key)
            .unwrap_or_else(|| panic!("{id}: no pack {key:?}"));
        let entry = pack_path.parent().unwrap().join(&pack.entry);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "{}: entry not executable",
            entry.display()
        );
        for probe in &m.probes {
            assert_eq!(
                probe.kinds_set().len(),
                1,
                "{}: probe {}",
                path.display(),
                probe.name
            );
        }
        // Every required input is set by every environment the module may run in.
        let required: BTreeSet<&String> = m
            .inputs
            .iter()
            .filter(|(_, schema)| schema.get("default").is_none())
            .map(|(name, _)| name)
            .collect();
        let envs = m.constraints.environments.clone().unwrap_or_default();
        for env_name in &envs {
            let env = p
                .environments
                .get(env_name)
                .unwrap_or_else(|| panic!("{id}: no env {env_name}"));
            for input in &required {
                let set = ["*", id.as_str()].iter().any(|k| {
                    env.inputs
                        .get(*k)
                        .is_some_and(|overlay| overlay.contains_key(*input))
                });
                assert!(
                    set,
                    "{id}: required input {input} is not set by environment {env_name}"
                );
            }
        }
    }
    for env in p.environments.values() {
        for (key, overlay) in &env.inputs {
            assert!(
                key == "*" || p.modules.contains_key(key),
                "{}: unknown module {key}",
                env.name
            );
            for value in overlay.values() {
                if let Some(secret) = value.get("secretRef").and_then(|s| s.as_str()) {
                    assert!(
                        env.secrets.contains_key(secret),
                        "{}: unbound secret {secret}",
                        env.name
                    );
                }
            }
        }
    }
    for stack in p.stacks.values() {
        for member in stack.members.values() {
            assert!(
                p.modules.contains_key(&member.module),
                "{}: {}",
                stack.name,
                member.module
            );
        }
    }
}

#[test]
fn quickstart_documents_parse_and_reference_each_other() {
    let root = repo_root().join("examples/quickstart");
    let parsed = parse_catalog(&root);
    check_references(&root, &parsed);
    assert!(parsed.modules.len() >= 3);
    assert_eq!(
        parsed.environments.keys().collect::<Vec<_>>(),
        vec!["dev", "prod"]
    );
    // Probe kinds the quickstart promises to show.
    let kinds: BTreeSet<&str> = parsed
        .modules
        .values()
        .flat_map(|(_, m)| m.probes.iter().flat_map(|p| p.kinds_set()))
        .collect();
    assert_eq!(kinds, ["command", "file", "http", "output", "tcp"].into());
    // The secret is bound to an environment variable and only ever referenced.
    for env in parsed.environments.values() {
        assert_eq!(
            env.secrets["api_token"].env.as_deref(),
            Some("QUICKSTART_API_TOKEN")
        );
        assert_eq!(
            env.inputs["app/config"]["api_token"],
            serde_json::json!({ "secretRef": "api_token" })
        );
    }
}

#[test]
fn init_templates_and_a_fresh_init_parse() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/init");
    check_references(&templates, &parse_catalog(&templates));
    let tmp = tempfile::tempdir().unwrap();
    hyops(tmp.path())
        .args(["init", "c", "-q"])
        .assert()
        .success();
    let root = tmp.path().join("c");
    let parsed = parse_catalog(&root);
    check_references(&root, &parsed);
    assert_eq!(parsed.catalog.unwrap().name, "c");
}
