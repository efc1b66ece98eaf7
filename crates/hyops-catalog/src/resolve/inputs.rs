//! Input resolution: every declared input's value from the precedence layers (default <
//! environment `"*"` < environment module overlay < stack member < `HYOPS_INPUT_<NAME>` <
//! `--set`), each with its source and location, validated against the input's schema.

use super::*;

impl Resolver<'_> {
    pub(super) fn inputs(
        &self,
        module: &Doc<Module>,
        environment: &Doc<Environment>,
        member: Option<(&Doc<hyops_contract::Stack>, &str, &StackMember)>,
        overrides: &Overrides,
        errors: &mut Vec<Diagnostic>,
    ) -> (BTreeMap<String, ResolvedInput>, BTreeMap<String, SecretRef>) {
        let m = &module.value;
        let env = &environment.value;
        let mut set_values: BTreeMap<&str, &str> = BTreeMap::new();
        for arg in &overrides.set {
            match split_set(arg) {
                Some((name, value)) if m.inputs.contains_key(name) => {
                    set_values.insert(name, value);
                }
                Some((name, _)) => errors.push(
                    Diagnostic::error(
                        codes::UNKNOWN_INPUT,
                        format!("`--set {name}=…` names no input of module `{}`", m.id),
                    )
                    .with_help(format!(
                        "declared inputs: {}",
                        m.inputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                ),
                None => errors.push(
                    Diagnostic::error(
                        codes::BAD_OVERRIDE,
                        format!("`--set {arg}` is not `name=value`"),
                    )
                    .with_help("write `--set port=8080`"),
                ),
            }
        }
        let mut inputs = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for (name, schema) in &m.inputs {
            let mut layers: Vec<Layer> = Vec::new();
            if let Some(d) = schema.get("default") {
                layers.push(Layer {
                    values: vec![d.clone()],
                    source: InputSource::Default,
                    location: module.location_of(&format!("inputs.{name}.default")),
                });
            }
            for (key, source) in [
                ("*", InputSource::EnvironmentAll),
                (m.id.as_str(), InputSource::EnvironmentModule),
            ] {
                if let Some(v) = env.inputs.get(key).and_then(|i| i.get(name)) {
                    layers.push(Layer {
                        values: vec![v.clone()],
                        source,
                        location: environment.location_of(&format!("inputs.{key}.{name}")),
                    });
                }
            }
            if let Some((stack, member_name, sm)) = member
                && let Some(v) = sm.inputs.get(name)
            {
                let wired = v.as_str().is_some_and(|s| s.contains("{{"));
                layers.push(Layer {
                    values: vec![v.clone()],
                    source: if wired {
                        InputSource::Upstream
                    } else {
                        InputSource::StackMember
                    },
                    location: stack.location_of(&format!("members.{member_name}.inputs.{name}")),
                });
            }
            let var = env_var_for_input(name);
            if let Some(text) = overrides.env_inputs.get(&var) {
                layers.push(Layer {
                    values: candidates(text),
                    source: InputSource::EnvVar,
                    location: var.clone(),
                });
            }
            if let Some(text) = set_values.get(name.as_str()) {
                layers.push(Layer {
                    values: candidates(text),
                    source: InputSource::Set,
                    location: "--set".to_string(),
                });
            }
            let secret = is_secret(schema);
            let Some(top) = layers.pop() else {
                errors.push(missing_input(
                    module,
                    environment,
                    member.map(|(s, n, _)| (s.path(), n)),
                    name,
                    secret,
                ));
                continue;
            };
            let first = &top.values[0];
            if let Some(r) = secret_ref(first) {
                match (r, secret) {
                    (Ok(secret_name), true) => match env.secrets.get(secret_name) {
                        Some(src) => {
                            secrets.insert(secret_name.to_string(), SecretRef { env: src.env.clone(), file: src.file.clone(), age: src.age.clone(), upstream: None });
                            inputs.insert(name.clone(), ResolvedInput { value: None, secret_ref: Some(secret_name.to_string()), secret: true, source: top.source, source_location: top.location });
                        }
                        None => errors.push(Diagnostic::error(codes::UNKNOWN_SECRET, format!("input `{name}` is bound to secret `{secret_name}`, which environment `{}` does not declare", env.name))
                            .with_help(format!("declare it under `secrets:` in {} ({})", environment.path(), top.location))),
                    },
                    _ => errors.push(Diagnostic::error(codes::SECRET_BINDING, format!("input `{name}` is bound with `secretRef` but is not a secret input (at {})", top.location))
                        .with_help(format!("mark the input `secret: true` in {}", module.path()))),
                }
                continue;
            }
            if secret {
                errors.push(Diagnostic::error(codes::SECRET_BINDING, format!("secret input `{name}` was given a plain value at {}; secret values never enter a RunRequest", top.location))
                    .with_help(format!("bind it in {} as `inputs.\"{}\".{name}: {{ secretRef: <secret> }}` and declare the secret under `secrets:`", environment.path(), m.id)));
                continue;
            }
            if top.source == InputSource::Upstream {
                // Wired values are known only after the producer passes; the runner substitutes them.
                inputs.insert(
                    name.clone(),
                    ResolvedInput {
                        value: Some(first.clone()),
                        secret_ref: None,
                        secret: false,
                        source: top.source,
                        source_location: top.location,
                    },
                );
                continue;
            }
            let validator = match self.schemas.validator(schema) {
                Ok(v) => v,
                Err(p) => {
                    errors.push(module.error_at(
                        codes::INVALID_INPUT_SCHEMA,
                        format!("input `{name}`: {}", p.message),
                        &format!("inputs.{name}"),
                        "invalid schema",
                    ));
                    continue;
                }
            };
            let chosen = top
                .values
                .iter()
                .find(|v| check_value(&validator, v).is_empty());
            match chosen {
                Some(v) => {
                    inputs.insert(
                        name.clone(),
                        ResolvedInput {
                            value: Some(v.clone()),
                            secret_ref: None,
                            secret: false,
                            source: top.source,
                            source_location: top.location,
                        },
                    );
                }
                None => {
                    let problems: Vec<String> = check_value(&validator, first)
                        .into_iter()
                        .map(|p| p.message)
                        .collect();
                    errors.push(
                        Diagnostic::error(
                            codes::INPUT_VALUE_INVALID,
                            format!(
                                "value of input `{name}` from {} does not satisfy its schema: {}",
                                top.location,
                                problems.join("; ")
                            ),
                        )
                        .with_help(format!(
                            "the schema is declared in {}",
                            module.location_of(&format!("inputs.{name}"))
                        )),
                    );
                }
            }
        }
        (inputs, secrets)
    }
}

fn missing_input(
    module: &Doc<Module>,
    environment: &Doc<Environment>,
    member: Option<(&str, &str)>,
    name: &str,
    secret: bool,
) -> Diagnostic {
    let id = &module.value.id;
    let env_path = environment.path();
    let help = if secret {
        format!(
            "secret inputs are bound in the environment: add `inputs.\"{id}\".{name}: {{ secretRef: <secret> }}` to {env_path} and declare the secret under `secrets:`"
        )
    } else {
        let mut places = vec![
            format!(
                "a `default` in {}",
                module.location_of(&format!("inputs.{name}"))
            ),
            format!("`inputs.\"*\".{name}` or `inputs.\"{id}\".{name}` in {env_path}"),
        ];
        if let Some((stack_path, m)) = member {
            places.push(format!("`members.{m}.inputs.{name}` in {stack_path}"));
        } else {
            places.push("a stack member's `inputs`".to_string());
        }
        places.push(format!("the variable `{}`", env_var_for_input(name)));
        places.push(format!("`--set {name}=<value>`"));
        format!("set it in one of: {}", places.join("; "))
    };
    module
        .error_at_key(
            codes::MISSING_INPUT,
            format!(
                "required input `{name}` of module `{id}` has no value in environment `{}`",
                environment.value.name
            ),
            &format!("inputs.{name}"),
            "declared here without a default",
        )
        .with_help(help)
}
