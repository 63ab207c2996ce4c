//! The CLI's `--json` outputs, each an object whose first key is `schema_version`: the shapes
//! are documented in docs/json.md, and a change that could break a reader bumps the version.

use crate::inventory::text::terminal_safe;
use crate::inventory::{InventoryError, validate::Problem};
use serde::Serialize;
use serde_json::{Value, json};

/// The version of every JSON output's shape (docs/json.md).
pub const SCHEMA_VERSION: u64 = 1;

/// `value` (an object) with `schema_version` put first; any other value is wrapped as
/// `{"schema_version": 1, "value": …}` so every output is an object with a version.
pub fn versioned(value: &impl Serialize) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(value)?;
    match &mut value {
        Value::Object(map) => {
            map.shift_insert(0, "schema_version".to_string(), json!(SCHEMA_VERSION));
            Ok(value)
        }
        _ => Ok(json!({"schema_version": SCHEMA_VERSION, "value": value})),
    }
}

/// One problem of `validate --json`; strings made safe to show, as on the terminal.
fn problem(problem: &Problem) -> Value {
    let (line, column) = match problem.position {
        Some((line, column)) => (json!(line), json!(column)),
        None => (Value::Null, Value::Null),
    };
    json!({
        "path": terminal_safe(&problem.path),
        "line": line,
        "column": column,
        "message": terminal_safe(&problem.message),
        "hint": terminal_safe(&problem.hint),
    })
}

/// `validate --json`: the file, whether it is fit to use, its host count, every problem.
pub fn validate(
    file: &std::path::Path,
    outcome: &Result<crate::inventory::Inventory, InventoryError>,
) -> Value {
    let (hosts, problems) = match outcome {
        Ok(inv) => (json!(inv.hosts.len()), Vec::new()),
        Err(err) => (Value::Null, err.problems.iter().map(problem).collect()),
    };
    json!({
        "schema_version": SCHEMA_VERSION,
        "file": file.display().to_string(),
        "valid": outcome.is_ok(),
        "hosts": hosts,
        "problems": problems,
    })
}

/// `plan --json`: per host, the steps `up` would take (each step's text, a diff included,
/// with secret values masked).
pub fn plan(plan: &crate::converge::Plan) -> Value {
    let hosts: serde_json::Map<String, Value> = plan
        .hosts
        .iter()
        .map(|(host, steps)| {
            let steps: Vec<String> = steps
                .iter()
                .map(|s| crate::secrets::redact(s.trim_end()))
                .collect();
            (host.clone(), json!({ "steps": steps }))
        })
        .collect();
    let changed = plan.changed_hosts();
    json!({
        "schema_version": SCHEMA_VERSION,
        "in_sync": changed == 0,
        "changed_hosts": changed,
        "total_hosts": plan.hosts.len(),
        "notes": plan.notes.iter().map(|n| crate::secrets::redact(n)).collect::<Vec<_>>(),
        "limit": plan.limit,
        "warnings": plan.warnings.iter().map(|w| terminal_safe(&crate::secrets::redact(w))).collect::<Vec<_>>(),
        "hosts": hosts,
        "steps": plan.steps,
    })
}

/// Where one secret comes from, for `secrets list`.
#[derive(Debug, Clone, Serialize)]
pub struct SecretSource {
    pub name: String,
    /// `environment`, `file` or `not_generated`.
    pub source: &'static str,
    /// The environment variable (when it overrides the file) or the secrets file.
    pub from: Option<String>,
    pub what: String,
}

/// `secrets list --json`.
pub fn secrets(secrets: &[SecretSource]) -> Value {
    json!({ "schema_version": SCHEMA_VERSION, "secrets": secrets })
}

/// `lab status --json`.
#[cfg(feature = "lab")]
pub fn lab_status(rows: &[crate::lab::HostStatus]) -> Value {
    let hosts: Vec<Value> = rows
        .iter()
        .map(|row| {
            let addresses: serde_json::Map<String, Value> = row
                .addresses
                .iter()
                .map(|(net, a)| (net.key().to_string(), json!(a.to_string())))
                .collect();
            json!({
                "name": row.name,
                "container": row.container,
                "running": row.running,
                "ssh_ok": row.ssh.is_ok(),
                "ssh_error": row.ssh.as_ref().err(),
                "addresses": addresses,
            })
        })
        .collect();
    json!({
        "schema_version": SCHEMA_VERSION,
        "healthy": rows.iter().all(|r| r.running && r.ssh.is_ok()),
        "hosts": hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_puts_the_version_first_and_wraps_non_objects() {
        let v = versioned(&json!({"a": 1})).unwrap();
        assert_eq!(v.to_string(), r#"{"schema_version":1,"a":1}"#);
        let v = versioned(&vec![1, 2]).unwrap();
        assert_eq!(v.to_string(), r#"{"schema_version":1,"value":[1,2]}"#);
    }

    #[test]
    fn a_plan_with_steps_is_not_in_sync() {
        let mut p = crate::converge::Plan::default();
        p.hosts.insert("lb1".into(), vec!["install haproxy".into()]);
        p.hosts.insert("db1".into(), vec![]);
        p.changing.push("lb1".into());
        p.steps.push(crate::roles::Step::Install {
            host: "lb1".into(),
            packages: vec!["haproxy".into()],
        });
        let v = plan(&p);
        assert_eq!(v["steps"][0]["step"], "install");
        assert_eq!(v["in_sync"], false);
        assert_eq!(v["changed_hosts"], 1);
        assert_eq!(v["hosts"]["lb1"]["steps"][0], "install haproxy");
        assert_eq!(v["hosts"]["db1"]["steps"], json!([]));
    }
}
