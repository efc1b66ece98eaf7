//! Locks, stale-lock takeover and crash recovery with real (dead and alive) processes.

use hyops_contract::AttemptStatus;
use hyops_store::{
    AttemptEvent, FinishWith, Holder, LockError, LockKey, RunHolder, local_holder_is_dead,
    pid_is_alive,
};

use crate::support::{TestLedger, new_attempt, new_run};

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 0"])
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn holder(run_id: &str, pid: u32, host: &str) -> Holder {
    Holder {
        run_id: run_id.into(),
        pid,
        host: host.into(),
    }
}

#[test]
fn pid_liveness_uses_real_processes() {
    assert!(pid_is_alive(std::process::id()));
    assert!(!pid_is_alive(dead_pid()));
    assert!(!pid_is_alive(0), "pid 0 is a process group, not a holder");
    assert!(!pid_is_alive(u32::MAX));
}

ledger_test!(a_held_lock_names_its_holder, |t: TestLedger| async move {
    let l = &t.ledger;
    let me = holder("aaaa-1", std::process::id(), "host-a");
    l.acquire_lock("web/site", "dev", &me, 100).await.unwrap();
    // Re-entrant for the same holder; other (target, env) pairs are independent.
    l.acquire_lock("web/site", "dev", &me, 101).await.unwrap();
    l.acquire_lock("web/site", "prod", &holder("bbbb-1", 1, "host-b"), 102)
        .await
        .unwrap();

    let err = l
        .acquire_lock("web/site", "dev", &holder("cccc-1", 77, "host-c"), 103)
        .await
        .unwrap_err();
    let LockError::Held {
        holder: found,
        acquired_at_ms,
        ..
    } = &err
    else {
        panic!("expected Held, got {err}");
    };
    assert_eq!(found, &me);
    assert_eq!(*acquired_at_ms, 100);
    let text = err.to_string();
    assert!(
        text.contains("aaaa-1") && text.contains("host-a") && text.contains("help:"),
        "{text}"
    );

    assert!(
        l.heartbeat_lock("web/site", "dev", "aaaa-1", 150)
            .await
            .unwrap()
    );
    assert_eq!(
        l.lock_holder("web/site", "dev")
            .await
            .unwrap()
            .unwrap()
            .heartbeat_at_ms,
        150
    );
    assert!(
        !l.release_lock("web/site", "dev", "cccc-1").await.unwrap(),
        "only the holder releases"
    );
    assert!(l.release_lock("web/site", "dev", "aaaa-1").await.unwrap());
    assert!(l.lock_holder("web/site", "dev").await.unwrap().is_none());
    l.acquire_lock("web/site", "dev", &holder("cccc-1", 77, "host-c"), 200)
        .await
        .unwrap();
});

ledger_test!(
    a_run_takes_a_free_lock_when_created_and_its_last_event_releases_it,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let me = std::process::id();
        let evidence = |run_id: &str| format!("evidence/dev/web-site/{run_id}/attempt-1");
        let holder_a = RunHolder {
            pid: me,
            host: "host-a",
            start_first_attempt: Some(&evidence),
            defer_sync: false,
        };
        let created = l
            .create_run_and_lock(&new_run("web/site", "dev", "f1", 10), &[], holder_a)
            .await
            .unwrap();
        assert!(created.locked && created.first_attempt_started);
        let first = created.run;
        let info = l.lock_holder("web/site", "dev").await.unwrap().unwrap();
        assert_eq!(info.holder, holder(&first.run_id, me, "host-a"));
        assert_eq!(info.acquired_at_ms, 10);
        // Attempt 1 is `running` already, with its evidence folder, and cannot start twice.
        let attempts = l.attempts(&first.run_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status, AttemptStatus::Running);
        assert_eq!(
            attempts[0].evidence_path.as_deref(),
            Some(format!("evidence/dev/web-site/{}/attempt-1", first.run_id).as_str())
        );
        assert!(
            l.start_attempt(&new_attempt(&first.run_id, 1, 11))
                .await
                .is_err()
        );

        // A second run of the same (target, env) is recorded, but without the lock or attempt.
        let created = l
            .create_run_and_lock(&new_run("web/site", "dev", "f2", 11), &[], holder_a)
            .await
            .unwrap();
        assert!(!created.locked && !created.first_attempt_started);
        let second = created.run;
        assert!(l.get_run(&second.run_id).await.unwrap().is_some());
        assert!(l.attempts(&second.run_id).await.unwrap().is_empty());
        let info = l.lock_holder("web/site", "dev").await.unwrap().unwrap();
        assert_eq!(info.holder.run_id, first.run_id);

        // Another run's final event does not release a lock it does not hold.
        let key = LockKey {
            target: "web/site",
            env: "dev",
        };
        for (run, at) in [(&second, 12), (&first, 13)] {
            if run.run_id == second.run_id {
                l.start_attempt(&new_attempt(&run.run_id, 1, at))
                    .await
                    .unwrap();
            }
            let with = FinishWith {
                outputs: None,
                artifacts: &[],
                release_lock: Some(key),
                defer_sync: false,
            };
            l.finish_attempt(
                &run.run_id,
                1,
                &AttemptEvent::new(AttemptStatus::Failed, at),
                with,
            )
            .await
            .unwrap();
            let holder = l.lock_holder("web/site", "dev").await.unwrap();
            if run.run_id == second.run_id {
                assert_eq!(holder.unwrap().holder.run_id, first.run_id);
            } else {
                assert!(holder.is_none(), "the holder's last event released it");
            }
        }
    }
);

ledger_test!(
    a_stale_lock_of_a_dead_process_is_taken_over,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let dead = holder("dead-1", dead_pid(), "this-host");
        l.acquire_lock("web/site", "dev", &dead, 1).await.unwrap();
        let me = holder("live-2", std::process::id(), "this-host");

        // A plain acquire never steals.
        assert!(matches!(
            l.acquire_lock("web/site", "dev", &me, 2).await,
            Err(LockError::Held { .. })
        ));
        let previous = l
            .take_over_stale_lock("web/site", "dev", &me, 3, local_holder_is_dead("this-host"))
            .await
            .unwrap();
        assert_eq!(previous, Some(dead));
        let info = l.lock_holder("web/site", "dev").await.unwrap().unwrap();
        assert_eq!((info.holder, info.acquired_at_ms), (me.clone(), 3));

        // A live holder is not taken over, nor one on another host we cannot check.
        let other = holder("other-3", dead_pid(), "this-host");
        let err = l
            .take_over_stale_lock(
                "web/site",
                "dev",
                &other,
                4,
                local_holder_is_dead("this-host"),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        l.acquire_lock(
            "net/vpc",
            "dev",
            &holder("remote-1", dead_pid(), "elsewhere"),
            5,
        )
        .await
        .unwrap();
        let err = l
            .take_over_stale_lock("net/vpc", "dev", &me, 6, local_holder_is_dead("this-host"))
            .await
            .unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        // A free lock is simply taken.
        let previous = l
            .take_over_stale_lock("db/pg", "dev", &me, 7, local_holder_is_dead("this-host"))
            .await
            .unwrap();
        assert_eq!(previous, None);
    }
);

ledger_test!(
    crash_recovery_finds_attempts_whose_owner_died,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let dead = dead_pid();
        let start =
            |target: &'static str, fp: &'static str, runner_pid: u32, host: &'static str| {
                let l = l.clone();
                async move {
                    let run = l.create_run(&new_run(target, "dev", fp, 1)).await.unwrap();
                    let mut attempt = new_attempt(&run.run_id, 1, 2);
                    attempt.runner_pid = runner_pid;
                    attempt.host = host.to_owned();
                    l.start_attempt(&attempt).await.unwrap();
                    run.run_id
                }
            };
        let orphan = start("a/orphan", "c1", dead, "this-host").await;
        let orphan_with_dead_tool = start("a/dead-tool", "c2", dead, "this-host").await;
        l.set_attempt_pid(&orphan_with_dead_tool, 1, dead_pid())
            .await
            .unwrap();
        let tool_still_running = start("a/live-tool", "c3", dead, "this-host").await;
        l.set_attempt_pid(&tool_still_running, 1, std::process::id())
            .await
            .unwrap();
        let _owner_alive = start("a/live-owner", "c4", std::process::id(), "this-host").await;
        let _other_host = start("a/other-host", "c5", dead, "elsewhere").await;
        let ended = start("a/ended", "c6", dead, "this-host").await;
        l.append_event(&ended, 1, &AttemptEvent::new(AttemptStatus::Failed, 3))
            .await
            .unwrap();

        let found = l
            .running_attempts_with_dead_holders("this-host", pid_is_alive, pid_is_alive)
            .await
            .unwrap();
        let mut ids: Vec<_> = found.iter().map(|a| a.run_id.clone()).collect();
        ids.sort();
        let mut expected = vec![orphan.clone(), orphan_with_dead_tool];
        expected.sort();
        assert_eq!(ids, expected);

        // The caller marks them lost; they are then no longer reported.
        for attempt in &found {
            l.append_event(
                &attempt.run_id,
                attempt.attempt,
                &AttemptEvent::new(AttemptStatus::Lost, 9),
            )
            .await
            .unwrap();
        }
        assert!(
            l.running_attempts_with_dead_holders("this-host", pid_is_alive, pid_is_alive)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            l.get_run(&orphan).await.unwrap().unwrap().status,
            AttemptStatus::Lost
        );
    }
);

ledger_test!(
    deferred_sync_writes_are_visible_at_once_and_leave_every_later_commit_synced,
    |t: TestLedger| async move {
        let l = &t.ledger;
        let me = std::process::id();
        let evidence = |run_id: &str| format!("evidence/dev/web-site/{run_id}/attempt-1");
        let created = l
            .create_run_and_lock(
                &new_run("web/site", "dev", "d1", 1),
                &[],
                RunHolder {
                    pid: me,
                    host: "host-a",
                    start_first_attempt: Some(&evidence),
                    defer_sync: true,
                },
            )
            .await
            .unwrap();
        assert!(created.locked && created.first_attempt_started);
        // What a stack member does before it spawns its tool.
        l.sync().await.unwrap();
        let run_id = created.run.run_id;
        let key = LockKey {
            target: "web/site",
            env: "dev",
        };
        let with = |defer_sync| FinishWith {
            outputs: None,
            artifacts: &[],
            release_lock: Some(key),
            defer_sync,
        };
        l.finish_attempt(
            &run_id,
            1,
            &AttemptEvent::new(AttemptStatus::Passed, 2),
            with(true),
        )
        .await
        .unwrap();
        let attempts = l.attempts(&run_id).await.unwrap();
        assert_eq!(attempts[0].status, AttemptStatus::Passed);
        assert!(l.lock_holder("web/site", "dev").await.unwrap().is_none());
        // A deferred write that fails midway (its transaction rolled back) does not leave the
        // connection unsynced for the next writer either.
        let err = l
            .finish_attempt(
                &run_id,
                9,
                &AttemptEvent::new(AttemptStatus::Passed, 3),
                with(true),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("attempt 9"), "{err}");
        let expected = t.url.starts_with("sqlite:").then_some(2);
        assert_eq!(l.sqlite_synchronous().await.unwrap(), expected);
        l.sync().await.unwrap();
    }
);

ledger_test!(
    concurrent_syncs_of_deferred_run_records_all_return_and_see_every_record,
    |t: TestLedger| async move {
        // Sixteen stack members recording their runs and syncing at once: the syncs share
        // fsyncs (group commit); none may wait forever or fail, and every record is there.
        let mut members = tokio::task::JoinSet::new();
        for i in 0..16 {
            let l = t.ledger.clone();
            members.spawn(async move {
                let target = format!("web/m{i:02}");
                let created = l
                    .create_run_and_lock(
                        &new_run(&target, "dev", &format!("{i:x}"), 1),
                        &[],
                        RunHolder {
                            pid: std::process::id(),
                            host: "host-a",
                            start_first_attempt: None,
                            defer_sync: true,
                        },
                    )
                    .await
                    .unwrap();
                l.sync().await.unwrap();
                created.run.run_id
            });
        }
        let all = tokio::time::timeout(std::time::Duration::from_secs(60), members.join_all())
            .await
            .expect("concurrent syncs finished");
        for run_id in &all {
            assert!(
                t.ledger.get_run(run_id).await.unwrap().is_some(),
                "{run_id}"
            );
        }
        assert_eq!(all.len(), 16);
    }
);
