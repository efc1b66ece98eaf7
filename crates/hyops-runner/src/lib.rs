//! Run lifecycle: attempts, retries, timeouts, probes, locks, DAG scheduling, events.

pub mod outputs;
pub mod probe;
pub mod template;
