//! Wire types of every hyops document (catalog files) and record (ledger, API), plus their JSON Schemas.
//!
//! This crate performs no I/O. Types here are *wire* types: they reject unknown fields and carry no
//! spans. `hyops-catalog` parses YAML into them, then checks and resolves them into domain values.

pub mod canonical_json;
pub mod common;
pub mod document;
pub mod environment;
pub mod lock;
pub mod module;
pub mod pack;
pub mod probe;
pub mod profile;
pub mod records;
pub mod run_request;
pub mod schema;
pub mod stack;
pub mod timestamp;

pub use common::{API_VERSION, ApiVersion, DriverName, DurationText};
pub use document::{Catalog, CatalogKind, SourceSpec};
pub use environment::{Approvals, Environment, EnvironmentKind, HostGroup, SecretSource};
pub use lock::{LOCK_VERSION, Lock, LockedSource};
pub use module::{Constraints, Execution, Module, ModuleKind, Outputs, PackRef, PublishSpec};
pub use pack::{Pack, PackKind};
pub use probe::{
    CommandExpect, CommandProbe, FileProbe, HttpExpect, HttpProbe, OutputProbe, Probe, ProbeRetry,
    TcpProbe,
};
pub use profile::{Backend, Profile, ProfileExecution, ProfileKind, Retries, Toolchain};
pub use records::{
    AdminActionType, AdminEvent, ArtifactRef, AttemptRecord, AttemptStatus, ConfigVersionRef,
    ErrorResponse, RunRecord,
};
pub use run_request::{
    DeclaredProbe, DocumentRef, ExecutionPolicy, InputSource, PackInfo, RUN_REQUEST_SCHEMA_VERSION,
    ResolvedInput, RunRequest, SecretRef,
};
pub use stack::{Stack, StackKind, StackMember};
