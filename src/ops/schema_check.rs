//! Test support: a report's JSON matches the JSON Schema derived from its
//! type, so the schema (for the "JSON output shapes" reference) cannot
//! drift from what `--format json` writes.
//!
//! The schema is the one of what is *written* (schemars' serialize
//! contract: a field skipped when empty is not required), as the reference
//! page of output shapes must use ([`output_schema`]).
//!
//! Checked at every depth: each object's keys are the schema's
//! `properties` (none undocumented), in the schema's order, and include
//! every `required` one; arrays' `items` and `minItems`/`maxItems`,
//! `anyOf`/`oneOf` branches, `$ref`s, `type`, `enum` and `const` are
//! followed. Enough to catch a field renamed, skipped, reordered or retyped
//! on one side only.

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
    match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => return out.push(format!("{at}: the schema allows nothing")),
        Value::Object(_) => {}
        _ => return out.push(format!("{at}: not a schema: {schema}")),
    }
    // The referenced schema applies, and so do the keywords beside `$ref`.
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        match r.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => check(value, target, root, at, out),
            None => out.push(format!("{at}: unresolved $ref {r}")),
        }
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
                // The keys written are in the schema's order (some may be
                // skipped): the reference shows them in that order.
                let order: Vec<usize> = map
                    .keys()
                    .filter_map(|k| props.keys().position(|p| p == k))
                    .collect();
                if order.windows(2).any(|w| w[0] > w[1]) {
                    let have: Vec<&String> = map.keys().collect();
                    let want: Vec<&String> = props.keys().collect();
                    out.push(format!(
                        "{at}: keys in the order {have:?}, the schema's is {want:?}"
                    ));
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
            let bound = |k: &str| {
                schema
                    .get(k)
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
            };
            if bound("minItems").is_some_and(|n| items.len() < n)
                || bound("maxItems").is_some_and(|n| items.len() > n)
            {
                out.push(format!(
                    "{at}: {} items, out of the schema's bounds",
                    items.len()
                ));
            }
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

    #[derive(Serialize, JsonSchema)]
    struct Row {
        name: String,
        count: Option<u32>,
        #[schemars(length(max = 2))]
        tags: Vec<String>,
    }

    #[test]
    fn a_value_of_another_shape_is_refused() {
        let schema = output_schema::<Row>();
        let row = Row {
            name: "a".into(),
            count: None,
            tags: vec!["x".into()],
        };
        assert_conforms(&row);
        let ok = serde_json::json!({"name": "a", "count": 3, "tags": []});
        assert_eq!(mismatches(&ok, &schema), Vec::<String>::new());
        for bad in [
            // A key missing, one too many, the keys out of order.
            serde_json::json!({"name": "a", "count": 3}),
            serde_json::json!({"name": "a", "count": 3, "tags": [], "more": 1}),
            serde_json::json!({"count": 3, "name": "a", "tags": []}),
            // A value of another type, at the top and at depth.
            serde_json::json!({"name": 1, "count": 3, "tags": []}),
            serde_json::json!({"name": "a", "count": "3", "tags": []}),
            serde_json::json!({"name": "a", "count": 3, "tags": [1]}),
            serde_json::json!(["a"]),
            // More items than the schema allows.
            serde_json::json!({"name": "a", "count": 3, "tags": ["x", "y", "z"]}),
        ] {
            assert!(!mismatches(&bad, &schema).is_empty(), "{bad}");
        }
    }

    #[test]
    fn a_false_schema_and_a_dangling_ref_refuse_everything() {
        let v = serde_json::json!(1);
        assert!(!mismatches(&v, &Value::Bool(false)).is_empty());
        let dangling = serde_json::json!({"$ref": "#/$defs/Nothing"});
        assert!(mismatches(&v, &dangling)[0].contains("unresolved $ref"));
    }
}
