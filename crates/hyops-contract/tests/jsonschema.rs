//! Fails when the committed schemas under `contracts/` drift from the types.
//! Regenerate with `HYOPS_BLESS=1 cargo test -p hyops-contract --test jsonschema`.

use std::path::PathBuf;

use hyops_contract::schema::{all_schemas, bundle, to_file_text};

fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

#[test]
fn committed_schemas_match_types() {
    let mut expected: Vec<(String, String)> = all_schemas()
        .into_iter()
        .map(|(name, s)| (format!("{name}.schema.json"), to_file_text(&s)))
        .collect();
    expected.push((
        "hyops-v1.bundle.schema.json".into(),
        to_file_text(&bundle()),
    ));

    let dir = contracts_dir();
    if std::env::var_os("HYOPS_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in &expected {
            std::fs::write(dir.join(file), text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (file, text) in &expected {
        match std::fs::read_to_string(dir.join(file)) {
            Ok(committed) if &committed == text => {}
            _ => stale.push(file.clone()),
        }
    }
    assert!(
        stale.is_empty(),
        "contracts/ is stale for {stale:?}; run `HYOPS_BLESS=1 cargo test -p hyops-contract --test jsonschema`"
    );
}

#[test]
fn module_example_from_design_parses_and_rejects_unknown_fields() {
    let yaml = r#"
apiVersion: hyops/v1
kind: Module
id: web/site
version: 1.0.0
inputs:
  port: { type: integer, minimum: 1024, default: 8080 }
  greeting: { type: string }
  api_token: { type: string, secret: true }
execution:
  driver: shell
  profile: shell-default
  pack_ref: { id: web-site@1 }
outputs:
  publish:
    url: { from: url }
probes:
  - name: serves-greeting
    http: { url: "{{ outputs.url }}/", expect: { status: 200, body_contains: "{{ inputs.greeting }}" } }
    retry: { attempts: 20, interval: 500ms }
  - { name: url-shape, output: { name: url, matches: "^http://" } }
constraints: { environments: [dev, prod] }
"#;
    let module: hyops_contract::Module = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(module.id, "web/site");
    assert_eq!(module.probes.len(), 2);
    assert_eq!(module.probes[0].kinds_set(), vec!["http"]);

    let bad = yaml.replace("version: 1.0.0", "version: 1.0.0\nbackend: s3");
    let err = serde_saphyr::from_str::<hyops_contract::Module>(&bad).unwrap_err();
    assert!(err.to_string().contains("backend"), "{err}");
}
