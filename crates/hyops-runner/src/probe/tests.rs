//! End-to-end probe runs: templates, readiness retries, deadlines, ordering, messages.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

use hyops_contract::{
    CommandExpect, CommandProbe, DeclaredProbe, DurationText, FileProbe, HttpExpect, HttpProbe,
    OutputProbe, Probe, ProbeRetry,
};
use serde_json::json;

use super::test_server::TestServer;
use super::*;

const SITE: &str = "modules/web/site/module.yaml:14:5";

fn bare(name: &str) -> Probe {
    Probe {
        name: name.into(),
        command: None,
        http: None,
        tcp: None,
        file: None,
        output: None,
        retry: None,
        timeout: None,
    }
}

fn declared(probe: Probe) -> DeclaredProbe {
    DeclaredProbe {
        probe,
        declared_at: SITE.into(),
    }
}

fn retry(attempts: u32, interval: &str) -> Option<ProbeRetry> {
    Some(ProbeRetry {
        attempts,
        interval: DurationText(interval.into()),
    })
}

fn http_probe(status: Option<u16>) -> Probe {
    Probe {
        http: Some(HttpProbe {
            url: "{{ outputs.url }}/".into(),
            method: None,
            expect: HttpExpect {
                status,
                body_contains: Some("{{ inputs.greeting }}".into()),
            },
        }),
        ..bare("serves-greeting")
    }
}

fn ctx(url: &str, work_dir: &std::path::Path) -> ProbeContext {
    let mut ctx = ProbeContext {
        work_dir: work_dir.to_path_buf(),
        command_env: BTreeMap::from([("PATH".to_owned(), OsString::from("/usr/bin:/bin"))]),
        ..ProbeContext::default()
    };
    ctx.template
        .inputs
        .insert("greeting".into(), json!("hello"));
    ctx.template.outputs.insert("url".into(), json!(url));
    ctx
}

#[test]
fn http_probe_retries_until_the_service_is_ready() {
    let server = TestServer::start(3, "hello world");
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(&format!("http://{}", server.addr()), dir.path());
    let probe = Probe {
        retry: retry(20, "20ms"),
        ..http_probe(None)
    };
    let result = run_probe(&declared(probe), &ctx);
    assert!(result.passed, "{result:?}");
    assert_eq!(result.tries, 4);
    assert_eq!(server.served(), 4);
    assert_eq!(result.expected, "HTTP 200 with body containing \"hello\"");
    assert_eq!(result.observed, "HTTP 200");
    assert_eq!(
        result.message,
        format!(
            "probe \"serves-greeting\" ({SITE}) passed: expected HTTP 200 with body containing \"hello\", saw HTTP 200 after 4 tries"
        )
    );
}

#[test]
fn http_probe_failure_message_names_probe_site_expectation_and_observation() {
    let server = TestServer::start(usize::MAX, "hello");
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(&format!("http://{}", server.addr()), dir.path());
    let probe = Probe {
        retry: retry(3, "10ms"),
        ..http_probe(Some(200))
    };
    let result = run_probe(&declared(probe), &ctx);
    assert!(!result.passed);
    assert_eq!(result.tries, 3);
    assert_eq!(
        result.message,
        format!(
            "probe \"serves-greeting\" ({SITE}) expected HTTP 200 with body containing \"hello\", saw HTTP 503 after 3 tries"
        )
    );
}

#[test]
fn overall_timeout_bounds_all_tries() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx(&format!("http://{}", TestServer::free_addr()), dir.path());
    let probe = Probe {
        retry: retry(1000, "50ms"),
        timeout: Some(DurationText("300ms".into())),
        ..http_probe(None)
    };
    let started = std::time::Instant::now();
    let result = run_probe(&declared(probe), &ctx);
    assert!(!result.passed);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(result.tries >= 2 && result.tries < 20, "{}", result.tries);
    assert!(
        result.message.ends_with("(timeout 300ms reached)"),
        "{}",
        result.message
    );
    assert!(result.observed.contains("refused"), "{}", result.observed);
}

#[test]
fn template_error_fails_before_any_try_and_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = ctx("http://127.0.0.1:1", dir.path());
    ctx.template.inputs.clear();
    let result = run_probe(&declared(http_probe(None)), &ctx);
    assert!(!result.passed);
    assert_eq!(result.tries, 0);
    assert!(
        result
            .message
            .contains("undefined variable `inputs.greeting`"),
        "{}",
        result.message
    );
    assert!(result.message.contains(SITE), "{}", result.message);
    assert!(
        result.message.ends_with("before running it"),
        "{}",
        result.message
    );
}

#[test]
fn command_probe_renders_argv_and_checks_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx("http://unused", dir.path());
    let command = |expect_out: &str| Probe {
        command: Some(CommandProbe {
            run: vec![
                "sh".into(),
                "-c".into(),
                "echo '{{ inputs.greeting }}' && echo PATH=$PATH".into(),
            ],
            expect: CommandExpect {
                exit_code: None,
                stdout_contains: Some(expect_out.into()),
            },
        }),
        ..bare("says-hello")
    };
    let passed = run_probe(&declared(command("hello")), &ctx);
    assert!(passed.passed, "{passed:?}");
    let failed = run_probe(&declared(command("goodbye")), &ctx);
    assert_eq!(
        failed.message,
        format!(
            "probe \"says-hello\" ({SITE}) expected `sh -c echo 'hello' && echo PATH=$PATH` to exit 0 with stdout containing \"goodbye\", saw exit 0 with stdout \"hello\\nPATH=/usr/bin:/bin\" after 1 try"
        )
    );
}

#[test]
fn run_probes_runs_all_in_order_even_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ready"), "yes").unwrap();
    let ctx = ctx("ftp://wrong", dir.path());
    let probes = vec![
        declared(Probe {
            output: Some(OutputProbe {
                name: "url".into(),
                matches: Some("^http://".into()),
                equals: None,
            }),
            // Output failures are final: the retries are not spent.
            retry: retry(5, "1s"),
            ..bare("url-shape")
        }),
        declared(Probe {
            file: Some(FileProbe {
                path: "ready".into(),
                exists: None,
                contains: Some("yes".into()),
            }),
            ..bare("ready-file")
        }),
        declared(Probe {
            file: Some(FileProbe {
                path: "ready".into(),
                exists: None,
                contains: None,
            }),
            output: Some(OutputProbe {
                name: "url".into(),
                matches: None,
                equals: None,
            }),
            ..bare("two-kinds")
        }),
    ];
    let results = run_probes(&probes, &ctx);
    let summary: Vec<_> = results
        .iter()
        .map(|r| (r.name.as_str(), r.passed, r.tries))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("url-shape", false, 1),
            ("ready-file", true, 1),
            ("two-kinds", false, 0)
        ]
    );
    assert_eq!(
        results[0].message,
        format!("probe \"url-shape\" ({SITE}) expected output \"url\" to be published matching /^http:\\/\\//, saw \"ftp://wrong\" after 1 try").replace("\\/\\/", "//")
    );
    assert!(
        results[2].message.contains("2 kinds set (file, output)"),
        "{}",
        results[2].message
    );
}

#[test]
fn invalid_timeout_text_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx("http://x", dir.path());
    let probe = Probe {
        timeout: Some(DurationText("soon".into())),
        ..http_probe(None)
    };
    let result = run_probe(&declared(probe), &ctx);
    assert!(!result.passed);
    assert!(
        result.observed.contains("invalid timeout \"soon\""),
        "{}",
        result.observed
    );
}
