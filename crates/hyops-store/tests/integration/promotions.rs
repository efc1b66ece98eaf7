//! Promotion: a PASS vouches only for the exact module/profile/pack digests it ran with, and
//! promotion decisions are append-only.

use hyops_contract::{AttemptStatus, ConfigVersionRef};
use hyops_store::{AttemptEvent, Promotion};

use crate::support::{TestLedger, new_attempt, new_run};

fn cv(name: &str, digest: &str) -> ConfigVersionRef {
    ConfigVersionRef {
        config_name: name.to_owned(),
        config_version: "1.0.0".to_owned(),
        digest: Some(digest.to_owned()),
        locator: None,
    }
}

ledger_test!(
    a_pass_vouches_only_for_its_own_digests,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let configs = vec![
            ("module:web/site".to_owned(), "sha256:m1".to_owned()),
            ("pack:site".to_owned(), "sha256:p1".to_owned()),
        ];
        let versions = [
            cv("module:web/site", "sha256:m1"),
            cv("pack:site", "sha256:p1"),
        ];
        // A failed run with the right digests does not vouch.
        let failed = l
            .create_run_with_config_versions(&new_run("app.web", "dev", "a1", 1), &versions)
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&failed.run_id, 1, 2))
            .await
            .unwrap();
        l.append_event(
            &failed.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Failed, 3),
        )
        .await
        .unwrap();
        assert_eq!(
            l.passed_run_with_configs("app.web", "dev", &configs)
                .await
                .unwrap(),
            None
        );
        // A passed run vouches; in another environment or with another pack digest it does not.
        let passed = l
            .create_run_with_config_versions(&new_run("app.web", "dev", "a2", 4), &versions)
            .await
            .unwrap();
        l.start_attempt(&new_attempt(&passed.run_id, 1, 5))
            .await
            .unwrap();
        l.append_event(
            &passed.run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Passed, 6),
        )
        .await
        .unwrap();
        assert_eq!(
            l.passed_run_with_configs("app.web", "dev", &configs)
                .await
                .unwrap(),
            Some(passed.run_id.clone())
        );
        assert_eq!(
            l.passed_run_with_configs("app.web", "stage", &configs)
                .await
                .unwrap(),
            None
        );
        let other_pack = vec![
            configs[0].clone(),
            ("pack:site".to_owned(), "sha256:p2".to_owned()),
        ];
        assert_eq!(
            l.passed_run_with_configs("app.web", "dev", &other_pack)
                .await
                .unwrap(),
            None
        );

        let p = Promotion {
            target: "app".into(),
            from_env: "dev".into(),
            to_env: "stage".into(),
            result: "refused".into(),
            evidence: serde_json::json!({"web": null}),
            runs: serde_json::json!([]),
            actor: "tester".into(),
            at_ms: 7,
        };
        l.record_promotion(&p).await.unwrap();
        assert_eq!(l.promotions("app").await.unwrap(), vec![p]);
        let update =
            crate::support::raw_execute(&t.url, "UPDATE promotions SET result = 'passed'").await;
        assert!(update.is_err(), "promotions must be append-only");
    }
);
