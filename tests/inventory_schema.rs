//! The inventory's JSON Schema: `minicloud schema` prints it, docs/inventory.schema.json is the
//! same text, every example inventory names it for editors and fits it.

use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_from_the_binary() -> String {
    let out = assert_cmd::Command::cargo_bin("minicloud")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let committed = std::fs::read_to_string(root().join("docs/inventory.schema.json")).unwrap();
    assert!(
        committed == schema_from_the_binary(),
        "docs/inventory.schema.json is out of date: run `minicloud schema > docs/inventory.schema.json`"
    );
}

fn examples() -> Vec<PathBuf> {
    let mut files = vec![root().join("inventory/example.yml")];
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            files.push(path);
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    files
}

/// The schema at `node`, its `$ref` followed.
fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/$defs/").unwrap();
            resolve(schema, &schema["$defs"][name])
        }
        None => node,
    }
}

/// Problems of `value` against `node`: unknown keys, missing required keys, enum values,
/// patterns and lengths of strings (a small part of JSON Schema, the part the inventory's
/// schema uses for objects and strings).
fn check(schema: &Value, node: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let node = resolve(schema, node);
    if let Some(any) = node["anyOf"].as_array().or(node["oneOf"].as_array()) {
        let fits = any.iter().any(|alt| {
            let mut problems = Vec::new();
            check(schema, alt, value, path, &mut problems);
            problems.is_empty() && type_fits(resolve(schema, alt), value)
        });
        if !fits {
            out.push(format!("{path}: fits none of the alternatives"));
        }
        return;
    }
    if let Some(values) = node["enum"].as_array()
        && !values.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {values:?}"));
    }
    match value {
        Value::Object(map) => {
            let properties = node["properties"].as_object();
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                match properties.and_then(|p| p.get(key)) {
                    Some(sub) => check(schema, sub, child, &child_path, out),
                    None => match &node["additionalProperties"] {
                        Value::Bool(false) => out.push(format!("{child_path}: unknown key")),
                        Value::Object(_) => check(
                            schema,
                            &node["additionalProperties"],
                            child,
                            &child_path,
                            out,
                        ),
                        _ => {}
                    },
                }
            }
            for required in node["required"].as_array().into_iter().flatten() {
                if !map.contains_key(required.as_str().unwrap()) {
                    out.push(format!("{path}: missing {required}"));
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(schema, &node["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(text) => {
            if let Some(pattern) = node["pattern"].as_str()
                && !regex::Regex::new(pattern).unwrap().is_match(text)
            {
                out.push(format!("{path}: {text:?} does not match {pattern}"));
            }
            if let Some(max) = node["maxLength"].as_u64()
                && text.chars().count() as u64 > max
            {
                out.push(format!("{path}: longer than {max}"));
            }
        }
        _ => {}
    }
}

/// Whether `value`'s JSON type is among `node`'s `type`s (when it names any).
fn type_fits(node: &Value, value: &Value) -> bool {
    let name = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match &node["type"] {
        Value::String(t) => t == name || (t == "number" && name == "integer"),
        Value::Array(types) => types
            .iter()
            .any(|t| t == name || (t == "number" && name == "integer")),
        _ => true,
    }
}

fn problems(schema: &Value, file: &Path, edit: impl Fn(String) -> String) -> Vec<String> {
    let text = edit(std::fs::read_to_string(file).unwrap());
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let value: Value = serde_json::to_value(yaml).unwrap();
    let mut out = Vec::new();
    check(schema, schema, &value, "", &mut out);
    out
}

#[test]
fn every_example_names_the_schema_and_fits_it() {
    let schema: Value = serde_json::from_str(&schema_from_the_binary()).unwrap();
    for file in examples() {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap();
        let reference = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: first line names no schema", file.display()));
        assert!(
            file.parent().unwrap().join(reference).is_file(),
            "{}: {reference} is not there",
            file.display()
        );
        let found = problems(&schema, &file, |t| t);
        assert!(found.is_empty(), "{}: {found:#?}", file.display());
    }
    // The check can fail: a misspelt key, an unknown role, a user name sudo would refuse.
    let example = root().join("inventory/example.yml");
    let found = problems(&schema, &example, |t| {
        t.replacen("  port: 22\n", "  prot: 22\n", 1)
            .replacen("roles: [lb]", "roles: [loadbalancer]", 1)
            .replacen("  user: root ", "  user: Root;rm ", 1)
    });
    for expected in ["ssh.prot: unknown key", "loadbalancer", "Root;rm"] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
}
