//! Kargo expressions (`${{ … }}`), built in one place.
//!
//! Kargo evaluates `${{ … }}` anywhere in a step's config and in verification
//! args, then *re-types* the whole value: text that parses as a number, a
//! boolean or JSON becomes one (`pkg/expressions/json_templates.go:116-211`
//! in Kargo v1.11.2). So every value imgf writes that must arrive as a string
//! is one template whose expression yields a string wrapped in `quote()`,
//! whose quotes Kargo strips again (`json_templates.go:181-187`): a dispatch
//! body is `${{ quote({…}) }}` (a map, JSON-encoded by `quote`), a tag is
//! `${{ quote(imageFrom(…).Tag) }}`.
//!
//! Expressions are built from string literals escaped for expr-lang, so no
//! value can end the template (`}}`), open another (`${`), or leave its
//! literal. Values reach this module only after [`crate::values`] has
//! refused anything with quotes, braces, `$` or control characters; the
//! escaping is a second wall, not the first.

use crate::config::settings::SecretRef;
use std::fmt::Write as _;

/// `expr` as a template: `${{ expr }}`.
///
/// Kargo ends an expression at the first `}}` (`nextExpression`), so an
/// expression built here never contains one: literals escape braces and
/// [`map`] closes with `} }`.
pub fn template(expr: &str) -> String {
    debug_assert!(!expr.contains("}}"), "`}}` would end the template: {expr}");
    format!("${{{{ {expr} }}}}")
}

/// `quote(expr)`: the value stays a string whatever it looks like after
/// evaluation (a map becomes its JSON text; `1.2` stays `"1.2"`).
pub fn quote(expr: &str) -> String {
    format!("quote({expr})")
}

/// An expr-lang string literal in double quotes.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `}}` would end the template early; an escaped brace is the same character.
            '}' => out.push_str("\\u007d"),
            '{' => out.push_str("\\u007b"),
            '$' => out.push_str("\\u0024"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A map literal `{"key": value, …}` from keys and expressions. A nested map
/// closes with `} }`, never `}}`.
pub fn map(entries: &[(&str, String)]) -> String {
    let body = entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", literal(k)))
        .collect::<Vec<_>>()
        .join(", ");
    if body.ends_with('}') {
        format!("{{{body} }}")
    } else {
        format!("{{{body}}}")
    }
}

/// An array literal `[a, b]` of expressions (an element that ends with `}`
/// is followed by `]` or `,`, never by another `}`).
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// A piece of a string built at promotion time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Known now.
    Text(String),
    /// An expression that yields a string.
    Expr(String),
}

/// The expression that concatenates `pieces` (adjacent text merged).
pub fn concat(pieces: &[Piece]) -> String {
    let mut merged: Vec<Piece> = Vec::new();
    for p in pieces {
        match (merged.last_mut(), p) {
            (Some(Piece::Text(a)), Piece::Text(b)) => a.push_str(b),
            _ => merged.push(p.clone()),
        }
    }
    if merged.is_empty() {
        return literal("");
    }
    merged
        .iter()
        .map(|p| match p {
            Piece::Text(t) => literal(t),
            Piece::Expr(e) => e.clone(),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A field of the image from `repo_url` in the Freight that came from
/// Warehouse `warehouse`. The origin is always named: without it Kargo fails
/// when two requested Warehouses watch the same repository
/// (`pkg/controller/freight/finder.go:97-165`).
pub fn image_field(repo_url: &str, warehouse: &str, field: ImageField) -> String {
    format!(
        "imageFrom({}, warehouse({})).{}",
        literal(repo_url),
        literal(warehouse),
        field.as_str()
    )
}

/// The same, for a Stage that may not hold Freight from that origin yet (a
/// Stage with several origins): `fallback` instead of an error.
pub fn image_field_or(
    repo_url: &str,
    warehouse: &str,
    field: ImageField,
    fallback: &str,
) -> String {
    format!(
        "(imageFrom({}, warehouse({}))?.{} ?? {})",
        literal(repo_url),
        literal(warehouse),
        field.as_str(),
        literal(fallback)
    )
}

/// What a `yaml-parse` lookup yields when the file parses but holds no value
/// there yet (a first deployment): the commit message says so.
pub const NO_VALUE: &str = "(none)";

/// A `yaml-parse` program: the value at a `yaml-update` key (`image.tag`,
/// `spec.template.spec.containers.0.image`) as a string, [`NO_VALUE`] when absent.
/// Kargo runs it over the parsed file (`yaml_parser.go`), numbers as float64.
pub fn yaml_key_lookup(key: &str) -> String {
    let mut parts = key.split('.');
    let mut out = format!("$env[{}]", literal(parts.next().unwrap_or_default()));
    for p in parts {
        match p.parse::<usize>() {
            Ok(i) => {
                let _ = write!(out, "?.[{i}]");
            }
            Err(_) => {
                let _ = write!(out, "?.[{}]", literal(p));
            }
        }
    }
    format!("string({out} ?? {})", literal(NO_VALUE))
}

/// A `yaml-parse` program: `field` (`newTag`, `digest`) of the
/// kustomization's `images:` entry named `name`, [`NO_VALUE`] when absent.
pub fn kustomize_image_lookup(name: &str, field: &str) -> String {
    format!(
        "string(first(filter($env[\"images\"] ?? [], {{#?.name == {}}}))?.[{}] ?? {})",
        literal(name),
        literal(field),
        literal(NO_VALUE)
    )
}

/// A key of a Secret in the project namespace (`secret()` returns its data
/// as a map; a missing Secret is `{}`).
pub fn secret_field(s: &SecretRef) -> String {
    let is_ident = s
        .key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let access = if is_ident {
        format!(".{}", s.key)
    } else {
        format!("[{}]", literal(&s.key))
    };
    format!("secret({}){access}", literal(&s.name))
}

#[derive(Debug, Clone, Copy)]
pub enum ImageField {
    Tag,
    Digest,
}

impl ImageField {
    fn as_str(self) -> &'static str {
        match self {
            ImageField::Tag => "Tag",
            ImageField::Digest => "Digest",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn builds_the_documented_forms() {
        assert_eq!(
            template(&quote(&image_field(
                "ghcr.io/org/app",
                "app",
                ImageField::Tag
            ))),
            r#"${{ quote(imageFrom("ghcr.io/org/app", warehouse("app")).Tag) }}"#
        );
        let s = SecretRef {
            name: "github-workflow-token".into(),
            key: "token".into(),
        };
        assert_eq!(
            template(&secret_field(&s)),
            r#"${{ secret("github-workflow-token").token }}"#
        );
        let s = SecretRef {
            name: "t".into(),
            key: "api-key".into(),
        };
        assert_eq!(secret_field(&s), r#"secret("t")["api-key"]"#);
    }

    #[test]
    fn nested_maps_never_close_with_double_braces() {
        let inner = map(&[("a", literal("b"))]);
        let outer = map(&[("ref", literal("main")), ("inputs", inner)]);
        assert_eq!(outer, r#"{"ref": "main", "inputs": {"a": "b"} }"#);
        assert!(!template(&quote(&outer))
            .trim_end_matches("}}")
            .contains("}}"));
    }

    #[test]
    fn concat_merges_text() {
        let e = concat(&[
            Piece::Text("a:".into()),
            Piece::Expr("x".into()),
            Piece::Text(",".into()),
            Piece::Text("b".into()),
        ]);
        assert_eq!(e, r#""a:" + x + ",b""#);
        assert_eq!(concat(&[]), r#""""#);
    }

    proptest! {
        /// Whatever the input, the literal is one token: it opens and closes
        /// with the quote, every inner quote is escaped, and it cannot end the
        /// surrounding `${{ }}` template.
        #[test]
        fn literals_cannot_break_out(s in ".*") {
            let lit = literal(&s);
            prop_assert!(lit.starts_with('"') && lit.ends_with('"'));
            prop_assert!(!lit.contains("}}"), "closes the template: {}", lit);
            prop_assert!(!lit.contains("${"), "opens a template: {}", lit);
            prop_assert!(!lit.chars().any(char::is_control));
            let inner: Vec<char> = lit[1..lit.len() - 1].chars().collect();
            let mut i = 0;
            while i < inner.len() {
                if inner[i] == '\\' { i += 2; continue; }
                prop_assert!(inner[i] != '"', "unescaped quote in {lit}");
                i += 1;
            }
        }

        /// Maps of arbitrary keys and literal values never contain `}}`.
        #[test]
        fn maps_never_contain_template_end(k in ".*", v in ".*", nest in 0usize..3) {
            let mut e = map(&[(k.as_str(), literal(&v))]);
            for _ in 0..nest {
                e = map(&[(k.as_str(), e)]);
            }
            prop_assert!(!e.contains("}}"), "{}", e);
        }
    }
}
