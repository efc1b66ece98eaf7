//! A stack with a packer member (real packer 1.6.6): its image's artifact id wired into a shell
//! consumer, and a stack destroy that tears down the consumer and leaves the image, which packer
//! keeps no state to destroy.

use serde_json::Value;

use crate::packer_run::PkWorld;

fn member<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["members"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["member"] == name))
        .unwrap_or_else(|| panic!("no member {name} in {summary:#}"))
}

#[test]
fn stack_destroy_tears_down_the_consumer_and_leaves_the_image() {
    let w = PkWorld::new();
    let run = w.ok(&["run", "imaged", "--env", "dev"]);
    assert_eq!(run["passed"], true, "{run:#}");
    assert_eq!(
        member(&run, "deploy")["outputs"]["deployed"],
        "Null",
        "{run:#}"
    );

    let (out, destroy) = w.hyops(&["destroy", "imaged", "--env", "dev", "--yes"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(destroy["passed"], true, "{destroy:#}");
    assert_eq!(
        member(&destroy, "deploy")["status"],
        "passed",
        "{destroy:#}"
    );
    let image = member(&destroy, "image");
    assert_eq!(image["status"], "skipped", "{destroy:#}");
    assert!(
        image["reason"]
            .as_str()
            .unwrap()
            .starts_with("packer builds keep no state to destroy"),
        "{destroy:#}"
    );
    let log = std::fs::read_to_string(w.out_dir.join("deploy.log")).unwrap();
    assert_eq!(log, "apply Null\ndestroy Null\n");
    // The image was not destroyed, so its outputs stay readable; the consumer's do not.
    let image_outputs = w.ok(&["outputs", "imaged.image", "--env", "dev"]);
    assert_eq!(
        image_outputs["outputs"]["artifact_id"], "Null",
        "{image_outputs:#}"
    );
    let (out, _) = w.hyops(&["outputs", "imaged.deploy", "--env", "dev"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);

    // Asked for by itself, a packer module's destroy is refused with the same reason.
    let (out, alone) = w.hyops(&["destroy", "img/null", "--env", "dev", "--yes"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let message = alone["attempts"][0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("delete it on its platform"), "{message}");
}
