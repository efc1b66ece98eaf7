//! Terraform command building, pure: policy rendering, init arguments, environment, tfvars.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use hyops_contract::{Backend, DriverName, Toolchain};
use hyops_drivers::terraform::{check_version, tfvars};
use hyops_drivers::{DriverError, TerraformPolicy};
use serde_json::json;

use crate::{sample_request, sample_secrets};

fn terraform_request() -> hyops_contract::RunRequest {
    let mut request = sample_request();
    request.driver = DriverName::Terraform;
    request.toolchain = Some(Toolchain {
        binary: "tofu".into(),
        version: Some(">=1.0, <2".into()),
    });
    request.backend = Some(Backend {
        backend_type: "s3".into(),
        config: BTreeMap::from([
            ("bucket".to_owned(), "acme-state".to_owned()),
            (
                "key".to_owned(),
                "{env}/{module}/{workspace}.tfstate".to_owned(),
            ),
        ]),
    });
    request.workspace = Some("{env}-{module}".into());
    request.settings = BTreeMap::from([("plugin_dir".to_owned(), json!("vendor/plugins"))]);
    request
}

#[test]
fn policy_renders_backend_workspace_and_plugin_dir() {
    let policy =
        TerraformPolicy::from_request(&terraform_request(), Path::new("/st"), Path::new("/cat"))
            .unwrap();
    assert_eq!(policy.program, Path::new("tofu"));
    assert_eq!(policy.workspace.as_deref(), Some("dev-web-site"));
    assert_eq!(
        policy.init_args(),
        [
            "init",
            "-input=false",
            "-no-color",
            "-plugin-dir=/cat/vendor/plugins",
            "-backend-config=bucket=acme-state",
            "-backend-config=key=dev/web-site/dev-web-site.tfstate",
        ]
        .map(OsString::from)
    );
    assert_eq!(
        policy.backend_override(),
        json!({"terraform": {"backend": {"s3": {}}}})
    );
}

#[test]
fn a_profile_without_a_backend_is_refused() {
    let mut request = terraform_request();
    request.backend = None;
    let err =
        TerraformPolicy::from_request(&request, Path::new("/st"), Path::new("/c")).unwrap_err();
    assert!(matches!(err, DriverError::StatePlacement { .. }), "{err}");
    assert!(
        err.to_string().contains("names no terraform backend"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[test]
fn secrets_go_to_tf_var_only_and_never_to_tfvars() {
    let request = terraform_request();
    let policy = TerraformPolicy::from_request(&request, Path::new("/s"), Path::new("/c")).unwrap();
    let env = policy.env(Path::new("/io"), &sample_secrets());
    assert_eq!(env["TF_VAR_api_token"], OsString::from("tok-s3cr3t-value"));
    assert_eq!(env["TF_IN_AUTOMATION"], OsString::from("1"));
    assert_eq!(env["TF_CLI_CONFIG_FILE"], OsString::from("/io/terraformrc"));
    let vars = tfvars(&request, &sample_secrets()).unwrap();
    assert!(!vars.contains_key("api_token"));
    assert_eq!(vars["greeting"], "hello world");
    let err = tfvars(&request, &serde_json::Map::new()).unwrap_err();
    assert!(
        matches!(err, DriverError::SecretInputUnresolved { .. }),
        "{err}"
    );
}

#[test]
fn version_constraint_names_required_and_found() {
    let policy =
        TerraformPolicy::from_request(&terraform_request(), Path::new("/s"), Path::new("/c"))
            .unwrap();
    assert!(check_version(&policy, "1.0.3").is_ok());
    let message = check_version(&policy, "2.1.0").unwrap_err();
    assert!(
        message.contains("2.1.0") && message.contains(">=1.0, <2"),
        "{message}"
    );
    let mut bad = terraform_request();
    bad.toolchain = Some(Toolchain {
        binary: "terraform".into(),
        version: Some("one point oh".into()),
    });
    let err = TerraformPolicy::from_request(&bad, Path::new("/s"), Path::new("/c")).unwrap_err();
    assert!(matches!(err, DriverError::VersionReqInvalid { .. }));
}
