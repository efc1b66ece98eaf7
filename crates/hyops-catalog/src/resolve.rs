//! Resolution: (target, environment, explicit overrides) -> a deterministic RunRequest.
//!
//! Input precedence, lowest first: schema `default` < environment `"*"` < environment
//! `inputs.<module id>` < stack member `inputs` < `HYOPS_INPUT_<NAME>` < `--set name=value`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hyops_contract::{
    DeclaredProbe, DocumentRef, Environment, ExecutionPolicy, InputSource, Module, PackInfo,
    RUN_REQUEST_SCHEMA_VERSION, ResolvedInput, RunRequest, SecretRef, StackMember,
};
use serde_json::Value;

use crate::canonical_json::canonical_digest;
use crate::catalog::Catalog;
use crate::checks::environments::secret_ref;
use crate::checks::inputs::is_secret;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::document::Doc;
use crate::fingerprint::fingerprint;
use crate::input_schema::{SchemaCache, check_value};
use crate::overrides::{Overrides, candidates, env_var_for_input, split_set};
use crate::pack_digest::pack_tree_digest;
use crate::parallel::map_ordered;
use crate::version_ref::{parse_version, parse_versioned_ref};

mod inputs;

/// Resolution failed; every problem found is listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve `{target}` for environment `{env}`: {} problem(s)", diagnostics.len())]
pub struct ResolveError {
    /// The requested target.
    pub target: String,
    /// The requested environment.
    pub env: String,
    /// What went wrong, each with a location and help.
    pub diagnostics: Vec<Diagnostic>,
}

/// A pack tree digest, or why it could not be computed.
type PackDigest = Result<String, Box<Diagnostic>>;

/// One pack's digest, filled in once.
type PackDigestSlot = Arc<OnceLock<PackDigest>>;

/// Resolves many targets against one loaded catalog, computing each pack digest and compiling each
/// input schema once (also when shared between threads, as [`resolve_all`] does).
pub struct Resolver<'a> {
    catalog: &'a Catalog,
    canonical_root: PathBuf,
    /// (driver, pack id) -> digest, computed by the first thread that needs it.
    pack_digests: Mutex<HashMap<(String, String), PackDigestSlot>>,
    schemas: SchemaCache,
}

impl std::fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

/// Resolves one target: a module id, or `STACK.MEMBER`.
pub fn resolve(
    catalog: &Catalog,
    target: &str,
    env: &str,
    overrides: &Overrides,
) -> Result<RunRequest, ResolveError> {
    Resolver::new(catalog).resolve(target, env, overrides)
}

/// Resolves everything that can run in `env`: every module placed there (its
/// `constraints.environments` allow it), in module id order, then every member of every stack
/// as `STACK.MEMBER`, by stack then member name (on every core when there are enough of them).
/// A module some stack uses is left out when all that keeps it from standing alone is required
/// inputs without a value: its stack members supply them, and they are in the list.
pub fn resolve_all(
    catalog: &Catalog,
    env: &str,
    overrides: &Overrides,
) -> Vec<(String, Result<RunRequest, ResolveError>)> {
    let placed = |module: &str| {
        catalog.modules.get(module).is_none_or(|m| {
            let allowed = &m.value.constraints.environments;
            allowed
                .as_ref()
                .is_none_or(|envs| envs.iter().any(|e| e == env))
        })
    };
    let mut targets: Vec<String> = catalog
        .modules
        .keys()
        .filter(|id| placed(id))
        .cloned()
        .collect();
    let mut in_stacks = std::collections::BTreeSet::new();
    for (stack, s) in &catalog.stacks {
        for (member, m) in &s.value.members {
            in_stacks.insert(m.module.as_str());
            if placed(&m.module) {
                targets.push(format!("{stack}.{member}"));
            }
        }
    }
    let r = Resolver::new(catalog);
    let all = map_ordered(&targets, targets.len(), |target| {
        (target.clone(), r.resolve_shared(target, env, overrides))
    });
    all.into_iter()
        .filter(|(target, result)| {
            let supplied_by_stacks = in_stacks.contains(target.as_str())
                && result
                    .as_ref()
                    .is_err_and(|e| e.diagnostics.iter().all(|d| d.code == codes::MISSING_INPUT));
            !supplied_by_stacks
        })
        .collect()
}

/// A value from one precedence layer.
struct Layer {
    values: Vec<Value>,
    source: InputSource,
    location: String,
}

impl<'a> Resolver<'a> {
    /// A resolver over `catalog`.
    pub fn new(catalog: &'a Catalog) -> Self {
        Self {
            catalog,
            canonical_root: std::fs::canonicalize(&catalog.root)
                .unwrap_or_else(|_| catalog.root.clone()),
            pack_digests: Mutex::new(HashMap::new()),
            schemas: SchemaCache::default(),
        }
    }

    /// Resolves a module id, or `STACK.MEMBER`, for environment `env`.
    pub fn resolve(
        &mut self,
        target: &str,
        env: &str,
        overrides: &Overrides,
    ) -> Result<RunRequest, ResolveError> {
        self.resolve_shared(target, env, overrides)
    }

    /// [`Self::resolve`] through a shared reference (the caches lock internally).
    fn resolve_shared(
        &self,
        target: &str,
        env: &str,
        overrides: &Overrides,
    ) -> Result<RunRequest, ResolveError> {
        let fail = |diagnostics| ResolveError {
            target: target.to_string(),
            env: env.to_string(),
            diagnostics,
        };
        let cat = self.catalog;
        let (module_id, member) = match target.split_once('.') {
            None => (target.to_string(), None),
            Some((stack, member)) => {
                let found = cat
                    .stacks
                    .get(stack)
                    .and_then(|s| s.value.members.get(member).map(|m| (s, m)));
                let Some((s, m)) = found else {
                    return Err(fail(vec![unknown_target(cat, target)]));
                };
                (m.module.clone(), Some((s, member, m)))
            }
        };
        let Some(module) = cat.modules.get(&module_id) else {
            return Err(fail(vec![unknown_target(cat, target)]));
        };
        let Some(environment) = cat.environments.get(env) else {
            return Err(fail(vec![
                Diagnostic::error(
                    codes::UNKNOWN_ENVIRONMENT,
                    format!(
                        "environment `{env}` does not exist; expected `environments/{env}.yaml`"
                    ),
                )
                .with_help(crate::checks::references::suggest(
                    "environments",
                    env,
                    cat.environments.keys(),
                )),
            ]));
        };
        let mut errors = Vec::new();
        if let Some(allowed) = &module.value.constraints.environments
            && !allowed.iter().any(|e| e == env)
        {
            errors.push(
                module
                    .error_at(
                        codes::ENVIRONMENT_NOT_ALLOWED,
                        format!(
                            "module `{module_id}` may not run in environment `{env}`; allowed: {}",
                            allowed.join(", ")
                        ),
                        "constraints.environments",
                        "allowed environments",
                    )
                    .with_help(
                        "pick an allowed environment, or add it to `constraints.environments`",
                    ),
            );
        }
        let profile = self.profile(module, &mut errors);
        let pack = self.pack(module, &mut errors);
        let (inputs, secrets) = self.inputs(module, environment, member, overrides, &mut errors);
        if !errors.is_empty() {
            return Err(fail(errors));
        }
        let (Some(profile), Some(pack)) = (profile, pack) else {
            return Err(fail(errors));
        };
        let m = &module.value;
        let p = &profile.value;
        let pe = &p.execution;
        let ms = |d: &Option<hyops_contract::DurationText>, default: u64| {
            d.as_ref().and_then(|d| d.to_millis()).unwrap_or(default)
        };
        let execution = ExecutionPolicy {
            timeout_ms: ms(&pe.timeout, ExecutionPolicy::DEFAULT_TIMEOUT_MS),
            kill_grace_ms: ms(&pe.kill_grace, ExecutionPolicy::DEFAULT_KILL_GRACE_MS),
            max_attempts: pe.retries.as_ref().map_or(1, |r| r.max_attempts.max(1)),
            backoff_ms: pe.retries.as_ref().map_or(0, |r| ms(&r.backoff, 0)),
            env_allowlist: pe.env_allowlist.clone().unwrap_or_else(|| {
                ExecutionPolicy::DEFAULT_ENV_ALLOWLIST
                    .iter()
                    .map(|s| (*s).to_string())
                    .collect()
            }),
            require_non_root: pe.require_non_root,
            concurrency: pe.concurrency,
        };
        let probes = m
            .probes
            .iter()
            .enumerate()
            .map(|(i, probe)| DeclaredProbe {
                probe: probe.clone(),
                declared_at: module.location_of(&format!("probes[{i}]")),
            })
            .collect();
        let mut request = RunRequest {
            schema_version: RUN_REQUEST_SCHEMA_VERSION,
            target: target.to_string(),
            environment: doc_ref(environment, env, None),
            module: doc_ref(module, &m.id, Some(m.version.clone())),
            profile: doc_ref(profile, &p.name, Some(p.version.clone())),
            pack,
            driver: m.execution.driver,
            inputs,
            secrets,
            publish: m.outputs.publish.clone(),
            probes,
            execution,
            toolchain: p.toolchain.clone(),
            backend: p.backend.clone(),
            workspace: p.workspace.clone(),
            settings: p.settings.clone(),
            hosts: environment.value.hosts.clone(),
            fingerprint: String::new(),
        };
        request.fingerprint = fingerprint(&request);
        Ok(request)
    }

    fn profile(
        &self,
        module: &'a Doc<Module>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<&'a Doc<hyops_contract::Profile>> {
        let r = parse_versioned_ref(&module.value.execution.profile).ok()?;
        let Some(p) = self.catalog.profiles.get(&r.name) else {
            errors.push(
                module
                    .error_at(
                        codes::UNKNOWN_PROFILE,
                        format!("profile `{}` does not exist", r.name),
                        "execution.profile",
                        "unknown profile",
                    )
                    .with_help("run `hyops validate` for details"),
            );
            return None;
        };
        let satisfied = match (&r.req, parse_version(&p.value.version)) {
            (Some(req), Ok(v)) => req.matches(&v),
            (None, Ok(_)) => true,
            (_, Err(_)) => false,
        };
        if !satisfied || p.value.driver != module.value.execution.driver {
            errors.push(
                module
                    .error_at(
                        codes::PROFILE_VERSION_MISMATCH,
                        format!(
                            "profile `{}` does not fit this module (version or driver)",
                            r.name
                        ),
                        "execution.profile",
                        "profile does not fit",
                    )
                    .with_help("run `hyops validate` for details"),
            );
            return None;
        }
        Some(p)
    }

    fn pack(&self, module: &Doc<Module>, errors: &mut Vec<Diagnostic>) -> Option<PackInfo> {
        let driver = module.value.execution.driver.as_str();
        let r = parse_versioned_ref(&module.value.execution.pack_ref.id).ok()?;
        let Some(p) = self.catalog.pack(driver, &r.name) else {
            errors.push(
                module
                    .error_at(
                        codes::UNKNOWN_PACK,
                        format!("pack `{}` does not exist under `packs/{driver}/`", r.name),
                        "execution.pack_ref.id",
                        "unknown pack",
                    )
                    .with_help("run `hyops validate` for details"),
            );
            return None;
        };
        let satisfied = match (&r.req, parse_version(&p.value.version)) {
            (Some(req), Ok(v)) => req.matches(&v),
            (None, Ok(_)) => true,
            (_, Err(_)) => false,
        };
        if !satisfied {
            errors.push(
                module
                    .error_at(
                        codes::PACK_VERSION_MISMATCH,
                        format!(
                            "pack `{}` version {} does not satisfy the requirement",
                            r.name, p.value.version
                        ),
                        "execution.pack_ref.id",
                        "version not satisfied",
                    )
                    .with_help("run `hyops validate` for details"),
            );
            return None;
        }
        let rel_dir = format!("packs/{driver}/{}", r.name);
        let key = (driver.to_string(), r.name.clone());
        let slot = Arc::clone(
            self.pack_digests
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        // Hashed outside the map's lock; threads needing the same pack wait for the first one.
        let digest = slot
            .get_or_init(|| {
                let dir = self.catalog.root.join("packs").join(driver).join(&r.name);
                pack_tree_digest(&self.canonical_root, &dir, &rel_dir)
            })
            .clone();
        match digest {
            Ok(digest) => Some(PackInfo {
                id: p.value.id.clone(),
                version: p.value.version.clone(),
                path: rel_dir,
                entry: p.value.entry.clone(),
                source: p.value.source.clone(),
                source_commit: p.value.source.as_ref().and_then(|name| {
                    let lock = self.catalog.lock.as_ref()?;
                    Some(lock.sources.get(name)?.commit.clone())
                }),
                digest,
            }),
            Err(d) => {
                errors.push(*d);
                None
            }
        }
    }
}

fn doc_ref<T: serde::Serialize>(d: &Doc<T>, name: &str, version: Option<String>) -> DocumentRef {
    // Digest of the parsed document's canonical JSON: formatting, comments and key order do not
    // change it; any change of meaning does.
    let digest =
        serde_json::to_value(&d.value).map_or_else(|_| String::new(), |v| canonical_digest(&v));
    DocumentRef {
        name: name.to_string(),
        version,
        path: d.path().to_string(),
        digest,
    }
}

fn unknown_target(cat: &Catalog, target: &str) -> Diagnostic {
    use crate::checks::references::suggest;
    if let Some((name, member)) = target.split_once('.')
        && let Some(stack) = cat.stacks.get(name)
    {
        let members: Vec<String> = stack
            .value
            .members
            .keys()
            .map(|m| format!("{name}.{m}"))
            .collect();
        return Diagnostic::error(
            codes::UNKNOWN_TARGET,
            format!("stack `{name}` has no member `{member}`"),
        )
        .with_help(suggest("members", target, members.iter()));
    }
    // A stack resolves member by member: name one (`run`, `plan` and `destroy` take the stack).
    if let Some(stack) = cat.stacks.get(target) {
        return Diagnostic::error(
            codes::UNKNOWN_TARGET,
            format!("`{target}` is a stack, not a module or `STACK.MEMBER`"),
        )
        .with_help(format!(
            "name one of its members ({}); `hyops run|plan|destroy {target}` take the whole stack",
            crate::stack_graph::brief_member_list(target, &stack.value)
        ));
    }
    let mut help = suggest("modules", target, cat.modules.keys());
    if !cat.stacks.is_empty() {
        let stack = target.split_once('.').map_or(target, |(name, _)| name);
        help = format!("{help}; {}", suggest("stacks", stack, cat.stacks.keys()));
    }
    Diagnostic::error(
        codes::UNKNOWN_TARGET,
        format!("no module, stack or `STACK.MEMBER` is named `{target}`"),
    )
    .with_help(help)
}
