//! Stable diagnostic codes. Each is public interface: tools match on them; never reuse one.

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = concat!("hyops::catalog::", $text);)*
        /// Every code, for documentation tests.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

codes! {
    /// A file could not be read.
    IO = "io";
    /// The catalog root has no `hyops.yaml`.
    MISSING_CATALOG_FILE = "missing_catalog_file";
    /// A file exceeds the size limit.
    FILE_TOO_LARGE = "file_too_large";
    /// A file is not UTF-8.
    NOT_UTF8 = "not_utf8";
    /// A document is empty.
    EMPTY_DOCUMENT = "empty_document";
    /// YAML syntax error, or a parser limit was hit (depth, aliases, size).
    YAML_SYNTAX = "yaml_syntax";
    /// Two keys of one mapping are equal.
    DUPLICATE_KEY = "duplicate_key";
    /// The document does not match its schema (unknown field, wrong type, missing field).
    SCHEMA = "schema";
    /// `apiVersion` is not `hyops/v1`.
    BAD_API_VERSION = "bad_api_version";
    /// `kind` does not match the folder the document is in.
    WRONG_KIND = "wrong_kind";
    /// Document name/id does not match its path.
    NAME_MISMATCH = "name_mismatch";
    /// Two modules declare the same id.
    DUPLICATE_MODULE_ID = "duplicate_module_id";
    /// A symlink or reference leaves the catalog root, or a reference is absolute or uses `..`.
    PATH_ESCAPES_ROOT = "path_escapes_root";
    /// A file is ignored (e.g. `.yml` instead of `.yaml`).
    IGNORED_FILE = "ignored_file";
    /// A version is not semver, or a requirement is not a semver requirement.
    INVALID_VERSION = "invalid_version";
    /// `execution.profile` names no profile.
    UNKNOWN_PROFILE = "unknown_profile";
    /// The profile's version does not satisfy the requirement.
    PROFILE_VERSION_MISMATCH = "profile_version_mismatch";
    /// The profile governs another driver.
    PROFILE_DRIVER_MISMATCH = "profile_driver_mismatch";
    /// `execution.pack_ref` names no pack.
    UNKNOWN_PACK = "unknown_pack";
    /// The pack's version does not satisfy the requirement.
    PACK_VERSION_MISMATCH = "pack_version_mismatch";
    /// The pack is for another driver.
    PACK_DRIVER_MISMATCH = "pack_driver_mismatch";
    /// The pack's `entry` is missing, escapes the pack, or is not runnable.
    PACK_ENTRY = "pack_entry";
    /// An environment named in a reference does not exist.
    UNKNOWN_ENVIRONMENT = "unknown_environment";
    /// A module named in a reference does not exist.
    UNKNOWN_MODULE = "unknown_module";
    /// An input named in an overlay, stack or override is not declared by the module.
    UNKNOWN_INPUT = "unknown_input";
    /// An input's JSON Schema is not a valid schema.
    INVALID_INPUT_SCHEMA = "invalid_input_schema";
    /// A value does not satisfy the input's JSON Schema.
    INPUT_VALUE_INVALID = "input_value_invalid";
    /// A required input has no value.
    MISSING_INPUT = "missing_input";
    /// A secret input was given a plain value, or a plain input a secret reference.
    SECRET_BINDING = "secret_binding";
    /// A `secretRef` names a secret the environment does not declare.
    UNKNOWN_SECRET = "unknown_secret";
    /// A secret source does not set exactly one of `env`, `file`, `age`.
    SECRET_SOURCE = "secret_source";
    /// A probe does not set exactly one kind, or two probes share a name.
    PROBE_KIND = "probe_kind";
    /// A duration is not `<digits>(ms|s|m|h)`.
    INVALID_DURATION = "invalid_duration";
    /// A `{{ ... }}` template is malformed or names something undeclared.
    TEMPLATE = "template";
    /// A stack's members depend on each other in a cycle.
    STACK_CYCLE = "stack_cycle";
    /// A stack has no members.
    STACK_EMPTY = "stack_empty";
    /// A stack or member name holds something besides letters, digits, `_` and `-`.
    STACK_NAME = "stack_name";
    /// A stack names an unknown member (wiring or `depends_on`).
    UNKNOWN_MEMBER = "unknown_member";
    /// Wiring names an output the producer does not publish.
    UNKNOWN_OUTPUT = "unknown_output";
    /// Wiring feeds an output of one declared type into an input of another.
    WIRING_TYPE_MISMATCH = "wiring_type_mismatch";
    /// A module may not run in the requested environment.
    ENVIRONMENT_NOT_ALLOWED = "environment_not_allowed";
    /// The resolution target names no module or stack member.
    UNKNOWN_TARGET = "unknown_target";
    /// A `--set` argument is not `name=value`.
    BAD_OVERRIDE = "bad_override";
    /// Boundary lint `module-no-backend`.
    LINT_MODULE_NO_BACKEND = "lint::module_no_backend";
    /// Boundary lint `module-no-workspace-naming`.
    LINT_MODULE_NO_WORKSPACE_NAMING = "lint::module_no_workspace_naming";
    /// Boundary lint `module-no-tool-flags`.
    LINT_MODULE_NO_TOOL_FLAGS = "lint::module_no_tool_flags";
    /// Boundary lint `module-no-implementation-source`.
    LINT_MODULE_NO_IMPLEMENTATION_SOURCE = "lint::module_no_implementation_source";
    /// A profile setting's value does not have the shape its driver reads.
    SETTING_INVALID = "setting_invalid";
    /// A profile's `settings` holds a key its driver does not read.
    UNKNOWN_SETTING = "unknown_setting";
    /// A source in `hyops.yaml` is not pinned in `hyops.lock`, or pinned from another URL or ref.
    SOURCE_NOT_PINNED = "source_not_pinned";
    /// `hyops.lock` exists but is not a lock file.
    LOCK_INVALID = "lock_invalid";
    /// A packer pack's HCL template does not parse.
    PACKER_HCL = "packer_hcl";
    /// A packer var-file template does not parse, or names what its modules do not provide.
    PACKER_VARS_TEMPLATE = "packer_vars_template";
    /// A playbook or role YAML file of an ansible pack does not parse.
    ANSIBLE_YAML = "ansible_yaml";
    /// A `.tf` file of a terraform pack does not parse.
    TERRAFORM_HCL = "terraform_hcl";
    /// A packer profile's `settings.builders` names a builder the pack does not have.
    PACKER_UNKNOWN_BUILDER = "packer_unknown_builder";
    /// A profile's `settings.builder_naming` is not a map of type glob to regex.
    PACKER_NAMING_POLICY = "packer_naming_policy";
    /// Naming lint `packer-builder-naming`: a packer source block breaks the profile's naming rule.
    LINT_PACKER_BUILDER_NAMING = "lint::packer_builder_naming";
}
