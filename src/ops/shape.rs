//! Tests' check that a report's JSON has the shape its JSON Schema says:
//! each object has exactly the schema's properties (those it does not
//! require may be absent), in the schema's order,
//! and each value the schema's type (through `$ref`, `anyOf`/`oneOf`,
//! `items`, `enum`/`const` and `minItems`/`maxItems`). Enough to catch a
//! field renamed, skipped, reordered or retyped on one side only.

use serde_json::Value;

/// Where `value` departs from `schema` (the root of a `schema_for!`), or
/// `Ok` when it has its shape.
pub(crate) fn check(schema: &schemars::Schema, value: &Value) -> Result<(), String> {
    let root = schema.as_value();
    at(root, root, value, "$")
}

fn at(root: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let schema = match schema {
        Value::Bool(true) => return Ok(()),
        Value::Bool(false) => return Err(format!("{path}: the schema allows nothing")),
        Value::Object(o) => o,
        _ => return Err(format!("{path}: not a schema: {schema}")),
    };
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .ok_or_else(|| format!("{path}: unresolved $ref {r}"))?;
        at(root, target, value, path)?;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let errors: Vec<String> = alts
                .iter()
                .filter_map(|alt| at(root, alt, value, path).err())
                .collect();
            if errors.len() == alts.len() {
                return Err(format!("{path}: no {key} alternative fits: {errors:?}"));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| is(value, t)) {
            return Err(format!("{path}: {value} is not of type {t}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{path}: {value} is not one of {options:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{path}: {value} is not {c}"));
        }
    }
    if let (Some(props), Value::Object(fields)) =
        (schema.get("properties").and_then(Value::as_object), value)
    {
        // A property the schema does not require (a field serialised only
        // when set, like explain's `placement`) may be absent.
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let want: Vec<&String> = props
            .keys()
            .filter(|k| fields.contains_key(*k) || required.contains(&k.as_str()))
            .collect();
        let have: Vec<&String> = fields.keys().collect();
        if want != have {
            return Err(format!("{path}: keys {have:?}, the schema's {want:?}"));
        }
        for (k, v) in fields {
            at(root, &props[k], v, &format!("{path}.{k}"))?;
        }
    }
    if let Value::Array(items) = value {
        let bound = |k: &str| schema.get(k).and_then(Value::as_u64);
        if bound("minItems").is_some_and(|n| (items.len() as u64) < n)
            || bound("maxItems").is_some_and(|n| (items.len() as u64) > n)
        {
            return Err(format!("{path}: {} items, out of bounds", items.len()));
        }
        if let Some(item) = schema.get("items") {
            for (i, v) in items.iter().enumerate() {
                at(root, item, v, &format!("{path}[{i}]"))?;
            }
        }
    }
    Ok(())
}

fn is(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use serde_json::json;

    #[derive(serde::Serialize, schemars::JsonSchema)]
    struct Row {
        name: String,
        count: Option<u32>,
        tags: Vec<String>,
    }

    #[test]
    fn a_value_of_another_shape_is_refused() {
        let schema = schemars::schema_for!(Row);
        let row = Row {
            name: "a".into(),
            count: None,
            tags: vec!["x".into()],
        };
        check(&schema, &serde_json::to_value(&row).unwrap()).unwrap();
        let ok = json!({"name": "a", "count": 3, "tags": []});
        check(&schema, &ok).unwrap();
        for bad in [
            json!({"name": "a", "count": 3}),
            json!({"name": "a", "count": 3, "tags": [], "more": 1}),
            json!({"count": 3, "name": "a", "tags": []}),
            json!({"name": 1, "count": 3, "tags": []}),
            json!({"name": "a", "count": "3", "tags": []}),
            json!({"name": "a", "count": 3, "tags": [1]}),
            json!(["a"]),
        ] {
            assert!(check(&schema, &bad).is_err(), "{bad}");
        }
    }
}
