//! Run lifecycle: attempts, retries, timeouts, probes, locks, DAG scheduling, events.

pub mod template;
