//! Renders the REST surface as an OpenAPI 3.0 document (`docs/openapi.json`), from the same
//! `google.api.http` rules and messages as the code: paths from the rules (with ZITADEL's gateway
//! prefix), schemas from the messages in their proto3 JSON form (lowerCamelCase keys, 64-bit
//! integers as decimal strings, Timestamp and Duration as strings, enums by name), and every error
//! as the gateway's `google.rpc.Status` body. Comments in `proto/` become descriptions.
//!
//! Written by hand rather than with an OpenAPI generator for protos: those are Go plugins of
//! `protoc`, which this project does not use, and the mapping needed here is small.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};
use serde_json::{Map, Value, json};

use crate::http_rules;

/// Where the document is committed, relative to the workspace root.
pub const PATH: &str = "docs/openapi.json";

/// The error body of every failed call (the gateway's default error handler).
const STATUS: &str = "google.rpc.Status";

pub fn render(pool: &DescriptorPool) -> Result<String> {
    let mut schemas = BTreeMap::new();
    let mut paths = Map::new();
    for (method, rule) in http_rules::rules(pool)? {
        let input = method.input();
        let output = method.output();
        add_message(&output, &mut schemas)?;
        let path_fields = template_fields(&rule.path);
        let mut parameters = vec![json!({ "$ref": "#/components/parameters/OrgId" })];
        for name in &path_fields {
            let field = input.get_field_by_name(name).with_context(|| {
                format!("{}: the path names {name}, not a field", method.full_name())
            })?;
            parameters.push(json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": comment(&field.parent_file(), field.path()).unwrap_or_default(),
                "schema": field_schema(&field)?,
            }));
        }
        let mut operation = json!({
            "operationId": method.name(),
            "summary": comment(&method.parent_file(), method.path())
                .unwrap_or_else(|| method.name().to_owned()),
            "tags": [method.parent_service().name()],
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The call succeeded.",
                    "content": { "application/json": { "schema": reference(output.full_name()) } },
                },
                "default": { "$ref": "#/components/responses/Error" },
            },
        });
        match rule.body.as_deref() {
            Some("*") => {
                if !path_fields.is_empty() {
                    bail!(
                        "{}: body `*` with path fields is not mapped",
                        method.full_name()
                    );
                }
                add_message(&input, &mut schemas)?;
                operation["requestBody"] = json!({
                    // ZITADEL's gateway reads a missing body as the empty message.
                    "required": false,
                    "content": { "application/json": { "schema": reference(input.full_name()) } },
                });
            }
            Some(other) => bail!("{}: body {other:?} is not mapped", method.full_name()),
            None => {}
        }
        let entry = paths
            .entry(to_openapi_path(&rule.path))
            .or_insert_with(|| Value::Object(Map::new()));
        entry[rule.verb.to_lowercase()] = operation;
    }
    let status = pool
        .get_message_by_name(STATUS)
        .with_context(|| format!("{STATUS} is not in proto/"))?;
    add_message(&status, &mut schemas)?;

    let document = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ZITADEL passkey link API (REST)",
            "version": "v1",
            "description": DESCRIPTION,
        },
        "servers": [{ "url": "http://localhost:8080", "description": "the mock (zitadel-passkey-mock)" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access token of the user the call acts for.",
                },
            },
            "parameters": {
                "OrgId": {
                    "name": "x-zitadel-orgid",
                    "in": "header",
                    "required": false,
                    "description": "An organisation ID; it must name an existing organisation (else PERMISSION_DENIED), and never changes the user the call acts for.",
                    "schema": { "type": "string" },
                },
            },
            "responses": {
                "Error": {
                    "description": "The call failed: the HTTP status follows the gRPC code (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 400 FAILED_PRECONDITION, 404 NOT_FOUND, ...).",
                    "content": { "application/json": { "schema": reference(STATUS) } },
                },
            },
            "schemas": schemas,
        },
    });
    let mut text = serde_json::to_string_pretty(&sorted(document))?;
    text.push('\n');
    Ok(text)
}

/// The document with every object's keys in order. `serde_json::Map` keeps insertion order
/// when another crate of the workspace turns on serde_json's `preserve_order` (features are
/// unified when the whole workspace builds, as `cargo test --workspace` does), and sorted keys
/// otherwise: sorting here makes the output the same in both builds.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

const DESCRIPTION: &str = "The REST/JSON form of ZITADEL's passkey calls, as its gateway serves \
them. Generated by `cargo xtask codegen` from proto/. Bodies are canonical proto3 JSON: keys in \
lowerCamelCase (readers also accept the proto names), fields at their zero value left out, 64-bit \
integers as decimal strings, Timestamps in RFC 3339 with a Z, Durations as seconds with an s.";

/// A template's `{field}` and `{field=pattern}` variables as OpenAPI's `{field}`, and the fields
/// they name: `/v1/{name=things/*}/x` is `/v1/{name}/x` with the field `name`.
fn parse_template(path: &str) -> (String, Vec<String>) {
    let (mut out, mut fields) = (String::new(), Vec::new());
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let field = after[..close].split('=').next().unwrap_or_default();
        out.push_str(&format!("{{{field}}}"));
        fields.push(field.to_owned());
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    (out, fields)
}

fn template_fields(path: &str) -> Vec<String> {
    parse_template(path).1
}

fn to_openapi_path(path: &str) -> String {
    parse_template(path).0
}

fn reference(full_name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{full_name}") })
}

/// Adds the schema of `message` and of every message and enum it uses.
fn add_message(message: &MessageDescriptor, schemas: &mut BTreeMap<String, Value>) -> Result<()> {
    let name = message.full_name().to_owned();
    if schemas.contains_key(&name) || well_known(&name).is_some() {
        return Ok(());
    }
    // Reserved first, so that a message that refers to itself ends.
    schemas.insert(name.clone(), Value::Null);
    let mut properties = Map::new();
    for field in message.fields() {
        let mut schema = field_schema(&field)?;
        if let Some(text) = comment(&field.parent_file(), field.path()) {
            schema = with_description(schema, &text);
        }
        properties.insert(field.json_name().to_owned(), schema);
        match field.kind() {
            Kind::Message(used) => add_message(&used, schemas)?,
            Kind::Enum(used) => add_enum(&used, schemas),
            _ => {}
        }
    }
    let mut schema = json!({ "type": "object", "properties": properties });
    if let Some(text) = comment(&message.parent_file(), message.path()) {
        schema["description"] = Value::String(text);
    }
    schemas.insert(name, schema);
    Ok(())
}

fn add_enum(descriptor: &EnumDescriptor, schemas: &mut BTreeMap<String, Value>) {
    let names: Vec<String> = descriptor.values().map(|v| v.name().to_owned()).collect();
    schemas.insert(
        descriptor.full_name().to_owned(),
        json!({ "type": "string", "enum": names }),
    );
}

/// `$ref` cannot have siblings in OpenAPI 3.0, so a described reference is wrapped in `allOf`.
fn with_description(schema: Value, text: &str) -> Value {
    if schema.get("$ref").is_some() {
        json!({ "allOf": [schema], "description": text })
    } else {
        let mut schema = schema;
        schema["description"] = Value::String(text.to_owned());
        schema
    }
}

fn field_schema(field: &FieldDescriptor) -> Result<Value> {
    if field.is_map() {
        bail!("{}: map fields are not mapped", field.full_name());
    }
    let one = match field.kind() {
        Kind::Message(message) => match well_known(message.full_name()) {
            Some(schema) => schema,
            None => reference(message.full_name()),
        },
        Kind::Enum(descriptor) => reference(descriptor.full_name()),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({ "type": "string", "format": "byte" }),
        Kind::Double => json!({ "type": "number", "format": "double" }),
        Kind::Float => json!({ "type": "number", "format": "float" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "format": "int32" })
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({ "type": "integer", "format": "int32", "minimum": 0, "maximum": 4_294_967_295u64 })
        }
        // proto3 JSON writes 64-bit integers as strings (a JSON number loses precision above 2^53).
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({ "type": "string", "format": "int64", "pattern": "^-?[0-9]+$" })
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({ "type": "string", "format": "uint64", "pattern": "^[0-9]+$" })
        }
    };
    Ok(if field.is_list() {
        json!({ "type": "array", "items": one })
    } else {
        one
    })
}

/// The proto3 JSON forms of the well-known types the messages use.
fn well_known(full_name: &str) -> Option<Value> {
    Some(match full_name {
        "google.protobuf.Timestamp" => json!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 in UTC with a Z, with 0, 3, 6 or 9 fraction digits.",
        }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
            "description": "Seconds with an s, e.g. \"3600s\" or \"1.500s\".",
        }),
        "google.protobuf.Any" => json!({
            "type": "object",
            "required": ["@type"],
            "properties": { "@type": { "type": "string" } },
            "additionalProperties": true,
            "description": "A message of the type named by @type, with that message's own fields beside it.",
        }),
        _ => return None,
    })
}

/// The leading comment of the element at `path` in `file`, on one line.
fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::{template_fields, to_openapi_path};

    #[test]
    fn path_templates_become_openapi_paths() {
        let path = "/auth/v1/users/me/passwordless/{token_id}";
        assert_eq!(template_fields(path), ["token_id"]);
        assert_eq!(to_openapi_path(path), path);
        assert_eq!(to_openapi_path("/v1/{name=things/*}/x"), "/v1/{name}/x");
        assert!(template_fields("/auth/v1/users/me/passwordless/_link").is_empty());
    }
}
