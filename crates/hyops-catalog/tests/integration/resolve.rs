//! Resolution: precedence of every layer, missing inputs, secrets, determinism, digests.

use std::path::Path;

use hyops_catalog::{Catalog, Overrides, load, resolve};
use hyops_contract::{InputSource, RunRequest};
use serde_json::json;

use crate::support::{copy_tree, fixtures};

fn basic_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("valid/basic"), dir.path());
    dir
}

fn loaded(root: &Path) -> Catalog {
    let l = load(root);
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    l.catalog
}

fn canonical(r: &RunRequest) -> String {
    hyops_catalog::canonical_json(&serde_json::to_value(r).unwrap())
}

fn set(args: &[&str]) -> Overrides {
    Overrides {
        set: args.iter().map(|s| s.to_string()).collect(),
        ..Overrides::default()
    }
}

#[test]
fn every_precedence_level_wins_over_the_one_below() {
    let dir = basic_copy();
    std::fs::write(
        dir.path().join("environments/dev.yaml"),
        "apiVersion: hyops/v1\nkind: Environment\nname: dev\ninputs:\n  \"*\":\n    replicas: 5\n    region: star\n  web/site:\n    replicas: 6\n    greeting: hi\n    api_token: { secretRef: t }\nsecrets:\n  t: { env: T }\n",
    )
    .unwrap();
    let cat = loaded(dir.path());
    let get = |target: &str, o: &Overrides, input: &str| {
        let r = resolve(&cat, target, "dev", o).unwrap();
        let i = r.inputs[input].clone();
        (i.value.unwrap(), i.source, i.source_location)
    };
    let none = Overrides::default();
    // default
    assert_eq!(
        get("web/site", &none, "port"),
        (
            json!(8080),
            InputSource::Default,
            "modules/web/site/module.yaml:7:50".into()
        )
    );
    // environment "*" beats default
    assert_eq!(
        get("web/site", &none, "region"),
        (
            json!("star"),
            InputSource::EnvironmentAll,
            "environments/dev.yaml:7:13".into()
        )
    );
    // environment module overlay beats "*"
    assert_eq!(
        get("web/site", &none, "replicas"),
        (
            json!(6),
            InputSource::EnvironmentModule,
            "environments/dev.yaml:9:15".into()
        )
    );
    // stack member beats the environment
    assert_eq!(
        get("app.site", &none, "replicas"),
        (
            json!(2),
            InputSource::StackMember,
            "stacks/app.yaml:10:17".into()
        )
    );
    // HYOPS_INPUT_* beats the stack member
    let env_o = Overrides::from_env_vars(
        [
            ("HYOPS_INPUT_REPLICAS".to_string(), "7".to_string()),
            ("OTHER".into(), "x".into()),
        ],
        vec![],
    );
    assert_eq!(
        get("app.site", &env_o, "replicas"),
        (json!(7), InputSource::EnvVar, "HYOPS_INPUT_REPLICAS".into())
    );
    // --set beats everything; later --set wins
    let mut both = env_o.clone();
    both.set = vec!["replicas=8".into(), "replicas=9".into()];
    assert_eq!(
        get("app.site", &both, "replicas"),
        (json!(9), InputSource::Set, "--set".into())
    );
    // wired stack input keeps its template and says it comes from upstream
    let (v, src, _) = get("app.site", &none, "vpc_id");
    assert_eq!(
        (v, src),
        (
            json!("{{ members.net.outputs.vpc_id }}"),
            InputSource::Upstream
        )
    );
}

#[test]
fn set_values_parse_as_json_when_the_schema_accepts_them_else_as_text() {
    let dir = basic_copy();
    let cat = loaded(dir.path());
    let r = resolve(
        &cat,
        "web/site",
        "dev",
        &set(&["port=9000", "greeting=1.20", "region=true"]),
    )
    .unwrap();
    assert_eq!(r.inputs["port"].value, Some(json!(9000)));
    assert_eq!(r.inputs["greeting"].value, Some(json!("1.20")));
    assert_eq!(r.inputs["region"].value, Some(json!("true")));
    let err = resolve(&cat, "web/site", "dev", &set(&["port=80"])).unwrap_err();
    assert!(
        err.diagnostics[0].message.contains("minimum"),
        "{:?}",
        err.diagnostics
    );
    let err = resolve(&cat, "web/site", "dev", &set(&["nope=1", "bad"])).unwrap_err();
    let codes: Vec<&str> = err.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [
            "hyops::catalog::unknown_input",
            "hyops::catalog::bad_override"
        ]
    );
}

#[test]
fn missing_required_input_names_the_input_and_every_place_to_set_it() {
    let dir = basic_copy();
    std::fs::write(
        dir.path().join("environments/dev.yaml"),
        "apiVersion: hyops/v1\nkind: Environment\nname: dev\ninputs:\n  web/site:\n    api_token: { secretRef: t }\nsecrets:\n  t: { env: T }\n",
    )
    .unwrap();
    let cat = loaded(dir.path());
    let err = resolve(&cat, "web/site", "dev", &Overrides::default()).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1);
    let d = &err.diagnostics[0];
    assert_eq!(d.code, "hyops::catalog::missing_input");
    assert!(d.message.contains("`greeting`"), "{}", d.message);
    let help = d.help.clone().unwrap();
    for place in [
        "modules/web/site/module.yaml",
        "inputs.\"*\".greeting",
        "inputs.\"web/site\".greeting",
        "stack member",
        "HYOPS_INPUT_GREETING",
        "--set greeting=",
    ] {
        assert!(help.contains(place), "{place} missing from: {help}");
    }
    let text = hyops_catalog::render_text(d);
    assert!(text.contains("modules/web/site/module.yaml:8:3"), "{text}");
}

#[test]
fn secret_inputs_carry_a_reference_never_a_value() {
    let dir = basic_copy();
    let cat = loaded(dir.path());
    let r = resolve(&cat, "web/site", "prod", &Overrides::default()).unwrap();
    let t = &r.inputs["api_token"];
    assert_eq!(
        (t.value.clone(), t.secret_ref.as_deref(), t.secret),
        (None, Some("site-token"), true)
    );
    assert_eq!(
        r.secrets["site-token"].file.as_deref(),
        Some("secrets/site-token.txt")
    );
    let json = canonical(&r);
    assert!(!json.contains("\"value\":{\"secretRef"), "{json}");
    // a plain value from any layer is refused, and the value is not echoed
    let err = resolve(&cat, "web/site", "prod", &set(&["api_token=hunter2"])).unwrap_err();
    assert_eq!(err.diagnostics[0].code, "hyops::catalog::secret_binding");
    assert!(!format!("{:?}", err.diagnostics).contains("hunter2"));
}

#[test]
fn constraints_and_unknown_targets_are_errors() {
    let dir = basic_copy();
    std::fs::write(
        dir.path().join("environments/stage.yaml"),
        "apiVersion: hyops/v1\nkind: Environment\nname: stage\n",
    )
    .unwrap();
    let cat = loaded(dir.path());
    let err = resolve(&cat, "web/site", "stage", &Overrides::default()).unwrap_err();
    assert!(
        err.diagnostics
            .iter()
            .any(|d| d.code == "hyops::catalog::environment_not_allowed")
    );
    let err = resolve(&cat, "web/nope", "dev", &Overrides::default()).unwrap_err();
    assert_eq!(err.diagnostics[0].code, "hyops::catalog::unknown_target");
    let err = resolve(&cat, "net/vpc", "nope", &Overrides::default()).unwrap_err();
    assert_eq!(
        err.diagnostics[0].code,
        "hyops::catalog::unknown_environment"
    );
}

#[test]
fn policy_comes_from_the_profile_with_defaults() {
    let dir = basic_copy();
    let cat = loaded(dir.path());
    let r = resolve(&cat, "net/vpc", "dev", &Overrides::default()).unwrap();
    assert_eq!(r.execution.timeout_ms, 60_000);
    assert_eq!(r.execution.kill_grace_ms, 2_000);
    assert_eq!((r.execution.max_attempts, r.execution.backoff_ms), (2, 500));
    assert_eq!(r.execution.env_allowlist, ["PATH", "HOME"]);
    assert_eq!(r.pack.path, "packs/shell/net");
    assert_eq!(r.pack.entry, "bin/net.sh");
    assert_eq!(r.probes[0].declared_at, "modules/net/vpc/module.yaml:15:5");
    assert_eq!(r.fingerprint, hyops_catalog::fingerprint(&r));
}

#[test]
fn same_catalog_at_two_paths_resolves_byte_identically() {
    let a = basic_copy();
    let b = tempfile::tempdir().unwrap();
    let nested = b.path().join("some/deeper/place");
    copy_tree(&fixtures().join("valid/basic"), &nested);
    for target in ["web/site", "net/vpc", "app.site"] {
        let ra = resolve(&loaded(a.path()), target, "prod", &Overrides::default()).unwrap();
        let rb = resolve(&loaded(&nested), target, "prod", &Overrides::default()).unwrap();
        assert_eq!(canonical(&ra), canonical(&rb));
        let text = canonical(&ra);
        assert!(!text.contains(a.path().to_str().unwrap()));
        assert!(!text.contains("/tmp"), "{text}");
    }
}

#[test]
fn one_flipped_byte_in_a_pack_changes_pack_digest_and_fingerprint() {
    let dir = basic_copy();
    let before = resolve(
        &loaded(dir.path()),
        "web/site",
        "dev",
        &Overrides::default(),
    )
    .unwrap();
    let script = dir.path().join("packs/shell/web-site/run.sh");
    let mut bytes = std::fs::read(&script).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&script, bytes).unwrap();
    let after = resolve(
        &loaded(dir.path()),
        "web/site",
        "dev",
        &Overrides::default(),
    )
    .unwrap();
    assert_ne!(before.pack.digest, after.pack.digest);
    assert_ne!(before.fingerprint, after.fingerprint);
    assert_eq!(before.module.digest, after.module.digest);
}

#[cfg(unix)]
#[test]
fn executable_bit_is_part_of_the_pack_digest() {
    use std::os::unix::fs::PermissionsExt;
    let dir = basic_copy();
    let before = resolve(&loaded(dir.path()), "net/vpc", "dev", &Overrides::default()).unwrap();
    let extra = dir.path().join("packs/shell/net/helper.sh");
    std::fs::write(&extra, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&extra, std::fs::Permissions::from_mode(0o644)).unwrap();
    let plain = resolve(&loaded(dir.path()), "net/vpc", "dev", &Overrides::default()).unwrap();
    std::fs::set_permissions(&extra, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exec = resolve(&loaded(dir.path()), "net/vpc", "dev", &Overrides::default()).unwrap();
    assert_ne!(before.pack.digest, plain.pack.digest);
    assert_ne!(plain.pack.digest, exec.pack.digest);
}

#[test]
fn reordering_keys_changes_neither_document_digest_nor_fingerprint() {
    let dir = basic_copy();
    let before = resolve(&loaded(dir.path()), "net/vpc", "dev", &Overrides::default()).unwrap();
    std::fs::write(
        dir.path().join("modules/net/vpc/module.yaml"),
        "# reordered, reformatted\nkind: Module\napiVersion: hyops/v1\nversion: 0.3.0\nid: net/vpc\nprobes:\n  - output: { matches: \"^vpc-\", name: vpc_id }\n    timeout: 5s\n    name: has-vpc\noutputs:\n  publish:\n    vpc_id: { type: string, from: vpc_id }\nexecution:\n  pack_ref: { id: net@2 }\n  profile: shell-default\n  driver: shell\ninputs:\n  cidr: { default: 10.0.0.0/16, pattern: \"^[0-9./]+$\", type: string }\n",
    )
    .unwrap();
    let after = resolve(&loaded(dir.path()), "net/vpc", "dev", &Overrides::default()).unwrap();
    assert_eq!(before.module.digest, after.module.digest);
    assert_eq!(before.fingerprint, after.fingerprint);
    assert_ne!(
        before.inputs["cidr"].source_location,
        after.inputs["cidr"].source_location
    );
}

#[test]
fn resolve_all_resolves_every_module_then_every_stack_member() {
    let dir = basic_copy();
    let cat = loaded(dir.path());
    let all = hyops_catalog::resolve_all(&cat, "prod", &Overrides::default());
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["net/vpc", "web/site", "app.net", "app.site"]);
    assert!(all.iter().all(|(_, r)| r.is_ok()));
    // A module placed only in dev is not part of "all" for prod, nor are the members using it.
    let module = dir.path().join("modules/web/site/module.yaml");
    let text = std::fs::read_to_string(&module).unwrap();
    std::fs::write(
        &module,
        text.replace("environments: [dev, prod]", "environments: [dev]"),
    )
    .unwrap();
    let cat = loaded(dir.path());
    let all = hyops_catalog::resolve_all(&cat, "prod", &Overrides::default());
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["net/vpc", "app.net"]);
}
