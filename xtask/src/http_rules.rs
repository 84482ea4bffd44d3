//! Renders the `google.api.http` options of every RPC as a Rust table, so the REST client and
//! the mock's REST routes come from `proto/` rather than from hand-typed paths.

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use prost_reflect::{DescriptorPool, MethodDescriptor};

/// ZITADEL's gateway mounts each API under its own prefix; the prefix is not in the protos.
fn gateway_prefix(service: &str) -> Result<&'static str> {
    match service {
        "zitadel.auth.v1.AuthService" => Ok("/auth/v1"),
        other => {
            bail!("no gateway prefix known for service {other}; add it to xtask/src/http_rules.rs")
        }
    }
}

/// One rule, ready to be rendered.
pub struct Rule {
    pub const_name: String,
    pub grpc_path: String,
    pub verb: &'static str,
    /// The full template, gateway prefix included.
    pub path: String,
    pub body: Option<String>,
}

/// Every RPC of the `zitadel.` services that has a `google.api.http` rule, with its rule, in
/// proto order. The REST table below and the OpenAPI document are both made from this.
pub fn rules(pool: &DescriptorPool) -> Result<Vec<(MethodDescriptor, Rule)>> {
    let http = pool
        .get_extension_by_name("google.api.http")
        .context("google.api.http is not declared in proto/")?;
    let mut rules = Vec::new();
    for service in pool
        .services()
        .filter(|s| s.package_name().starts_with("zitadel."))
    {
        let prefix = gateway_prefix(service.full_name())?;
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http) {
                continue;
            }
            let rule = rule_of(&method, prefix, options.get_extension(&http).as_message())?;
            rules.push((method, rule));
        }
    }
    Ok(rules)
}

pub fn render(pool: &DescriptorPool) -> Result<String> {
    let mut out = String::from(HEADER);
    let mut all = Vec::new();
    let rules = rules(pool)?;
    let mut services: Vec<String> = rules
        .iter()
        .map(|(m, _)| m.parent_service().full_name().to_owned())
        .collect();
    services.dedup();
    for service in services {
        let short = service.rsplit('.').next().unwrap_or(&service);
        let module = snake_case(short);
        writeln!(out, "\n/// The rules of `{service}`.")?;
        writeln!(out, "pub mod {module} {{\n    use super::HttpRule;")?;
        for (_, rule) in rules
            .iter()
            .filter(|(m, _)| m.parent_service().full_name() == service)
        {
            writeln!(out, "\n    /// `{} {}`", rule.verb, rule.path)?;
            writeln!(
                out,
                "    pub const {}: HttpRule = HttpRule {{",
                rule.const_name
            )?;
            writeln!(out, "        grpc_path: {:?},", rule.grpc_path)?;
            writeln!(out, "        verb: {:?},", rule.verb)?;
            writeln!(out, "        path: {:?},", rule.path)?;
            writeln!(out, "        body: {:?},", rule.body)?;
            writeln!(out, "    }};")?;
            all.push(format!("{module}::{}", rule.const_name));
        }
        writeln!(out, "}}")?;
    }
    writeln!(
        out,
        "\n/// Every rule, in proto order.\npub const ALL: &[HttpRule] = &["
    )?;
    for name in all {
        writeln!(out, "    {name},")?;
    }
    writeln!(out, "];")?;
    Ok(out)
}

fn rule_of(
    method: &MethodDescriptor,
    prefix: &str,
    rule: Option<&prost_reflect::DynamicMessage>,
) -> Result<Rule> {
    let rule = rule.context("google.api.http is not a message")?;
    let string_field = |name: &str| -> Option<String> {
        rule.get_field_by_name(name)
            .and_then(|value| value.as_str().map(str::to_owned))
            .filter(|value| !value.is_empty())
    };
    let Some((verb, path)) = [
        ("GET", "get"),
        ("PUT", "put"),
        ("POST", "post"),
        ("DELETE", "delete"),
        ("PATCH", "patch"),
    ]
    .into_iter()
    .find_map(|(verb, field)| string_field(field).map(|path| (verb, path))) else {
        bail!("{}: google.api.http has no verb", method.full_name());
    };
    Ok(Rule {
        const_name: snake_case(method.name()).to_uppercase(),
        grpc_path: format!("/{}/{}", method.parent_service().full_name(), method.name()),
        verb,
        path: format!("{prefix}{path}"),
        body: string_field("body"),
    })
}

/// `AddMyPasswordlessLink` -> `add_my_passwordless_link`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

const HEADER: &str = r#"//! The `google.api.http` rules of every RPC, with ZITADEL's gateway prefix applied.

/// How one RPC is exposed by the REST/JSON gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpRule {
    /// The gRPC (and gRPC-web) method path, e.g. `/zitadel.auth.v1.AuthService/AddMyPasswordlessLink`.
    pub grpc_path: &'static str,
    /// The HTTP method, upper case.
    pub verb: &'static str,
    /// The full path template, gateway prefix included; a `{field}` segment takes a request field.
    pub path: &'static str,
    /// The request field sent as the JSON body: `Some("*")` for the whole request, `None` for none.
    pub body: Option<&'static str>,
}

impl HttpRule {
    /// The rule of a gRPC method path, if it has one.
    pub fn for_grpc_path(grpc_path: &str) -> Option<&'static HttpRule> {
        ALL.iter().find(|rule| rule.grpc_path == grpc_path)
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_on_capitals() {
        assert_eq!(
            snake_case("AddMyPasswordlessLink"),
            "add_my_passwordless_link"
        );
        assert_eq!(snake_case("AuthService"), "auth_service");
    }
}
