//! Test support: a report's JSON matches the JSON Schema derived from its
//! type, so the schema (for the "JSON output shapes" reference) cannot
//! drift from what `--format json` writes.
//!
//! The schema is the one of what is *written* (schemars' serialize
//! contract: a field skipped when empty is not required), as the reference
//! page of output shapes must use ([`output_schema`]).
//!
//! Checked at every depth: each object's keys are the schema's
//! `properties` (none undocumented) and include every `required` one;
//! arrays' items, `anyOf`/`oneOf` branches, `$ref`s, `type`, `enum` and
//! `const` are followed.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The JSON Schema of what a report of type `T` writes.
pub(crate) fn output_schema<T: JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("a schema serializes")
}

/// Panics, naming every mismatch, unless `report`'s JSON conforms to the
/// schema of its type.
pub(crate) fn assert_conforms<T: Serialize + JsonSchema>(report: &T) {
    let schema = output_schema::<T>();
    let value = serde_json::to_value(report).expect("a report serializes");
    let problems = mismatches(&value, &schema);
    assert!(
        problems.is_empty(),
        "the JSON does not conform to its schema:\n{}\nJSON: {value:#}",
        problems.join("\n")
    );
}

/// Every way `value` departs from `schema` (empty when it conforms).
pub(crate) fn mismatches(value: &Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(value, schema, schema, "$", &mut out);
    out
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or(r);
            resolve(
                root.pointer(pointer)
                    .unwrap_or_else(|| panic!("unresolved $ref {r}")),
                root,
            )
        }
        None => schema,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(value: &Value, schema: &Value, root: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(schema, root);
    if schema == &Value::Bool(true) {
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let fits = branches.iter().any(|b| {
                let mut inner = Vec::new();
                check(value, b, root, at, &mut inner);
                inner.is_empty()
            });
            if !fits {
                out.push(format!("{at}: fits none of the `{key}` branches"));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let actual = type_name(value);
        let allowed: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let ok = allowed
            .iter()
            .any(|a| *a == actual || (*a == "number" && actual == "integer"));
        if !ok {
            out.push(format!("{at}: is {actual}, the schema says {t}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(value) {
            out.push(format!("{at}: {value} is not one of {e:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            out.push(format!("{at}: {value} is not {c}"));
        }
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                for (k, v) in map {
                    match props.get(k) {
                        Some(s) => check(v, s, root, &format!("{at}.{k}"), out),
                        None => out.push(format!("{at}: key `{k}` is not in the schema")),
                    }
                }
            }
            for r in (schema.get("required").and_then(Value::as_array))
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(r) {
                    out.push(format!("{at}: required key `{r}` is missing"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(v, s, root, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Shape {
        name: String,
        count_all: u32,
        inner: Option<Inner>,
    }

    #[derive(Serialize, JsonSchema)]
    struct Inner {
        flag: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    fn schema() -> Value {
        output_schema::<Shape>()
    }

    #[test]
    fn a_conforming_value_has_no_mismatch() {
        let v = serde_json::to_value(Shape {
            name: "a".into(),
            count_all: 1,
            inner: Some(Inner {
                flag: true,
                note: None,
            }),
        })
        .unwrap();
        // `note`, skipped when empty, is not required.
        assert_eq!(mismatches(&v, &schema()), Vec::<String>::new());
    }

    #[test]
    fn extra_missing_and_mistyped_keys_are_found_at_any_depth() {
        let v = serde_json::json!({
            "name": "a",
            "count_all": 1,
            "inner": {"flag": "yes", "more": 1},
        });
        let found = mismatches(&v, &schema());
        let has = |s: &str| found.iter().any(|f| f.contains(s));
        assert!(has("key `count_all` is not in the schema"), "{found:?}");
        assert!(has("required key `countAll` is missing"), "{found:?}");
        assert!(has("`anyOf`") || has("$.inner.flag"), "{found:?}");
    }
}
