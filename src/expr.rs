//! Kargo expressions (`${{ … }}`), built in one place.
//!
//! Kargo evaluates `${{ … }}` anywhere in a step's config and in verification
//! args, so every expression imgf writes is made here, with its string
//! literals escaped for expr-lang. Values reach this module only after
//! [`crate::values`] has refused anything with quotes, braces, `$` or control
//! characters; the escaping is a second wall, not the first.

use crate::config::settings::SecretRef;

/// An expr-lang string literal in double quotes.
pub fn literal(s: &str) -> String {
    quoted(s, '"')
}

/// An expr-lang string literal in single quotes: for expressions that sit
/// inside a JSON string, where a double quote would need JSON escaping.
pub fn literal_single(s: &str) -> String {
    quoted(s, '\'')
}

fn quoted(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // `}}` would end the template early; an escaped brace is the same character.
            '}' => out.push_str("\\u007d"),
            '{' => out.push_str("\\u007b"),
            '$' => out.push_str("\\u0024"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// A field of the image Freight from `repo_url`: `Tag` or `Digest`.
pub fn image_from(repo_url: &str, field: ImageField) -> String {
    format!(
        "${{{{ imageFrom({}).{} }}}}",
        literal(repo_url),
        field.as_str()
    )
}

/// The same, with a single-quoted literal (for use inside JSON strings).
pub fn image_from_in_json(repo_url: &str, field: ImageField) -> String {
    format!(
        "${{{{ imageFrom({}).{} }}}}",
        literal_single(repo_url),
        field.as_str()
    )
}

/// The same, for a Stage that may not hold Freight from `repo_url` yet (a
/// Stage with several origins): `fallback` instead of an error.
pub fn image_from_in_json_or(repo_url: &str, field: ImageField, fallback: &str) -> String {
    format!(
        "${{{{ imageFrom({})?.{} ?? {} }}}}",
        literal_single(repo_url),
        field.as_str(),
        literal_single(fallback)
    )
}

/// A key of a Secret in the project namespace.
pub fn secret(s: &SecretRef) -> String {
    let is_ident = s
        .key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let access = if is_ident {
        format!(".{}", s.key)
    } else {
        format!("[{}]", literal_single(&s.key))
    };
    format!("${{{{ secret({}){access} }}}}", literal_single(&s.name))
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
            image_from("ghcr.io/org/app", ImageField::Tag),
            r#"${{ imageFrom("ghcr.io/org/app").Tag }}"#
        );
        let s = SecretRef {
            name: "github-workflow-token".into(),
            key: "token".into(),
        };
        assert_eq!(secret(&s), "${{ secret('github-workflow-token').token }}");
        let s = SecretRef {
            name: "t".into(),
            key: "api-key".into(),
        };
        assert_eq!(secret(&s), "${{ secret('t')['api-key'] }}");
    }

    proptest! {
        /// Whatever the input, the literal is one token: it opens and closes
        /// with the quote, every inner quote is escaped, and it cannot end the
        /// surrounding `${{ }}` template.
        #[test]
        fn literals_cannot_break_out(s in ".*") {
            for (lit, q) in [(literal(&s), '"'), (literal_single(&s), '\'')] {
                prop_assert!(lit.starts_with(q) && lit.ends_with(q));
                prop_assert!(!lit.contains("}}"), "closes the template: {}", lit);
                prop_assert!(!lit.contains("${"), "opens a template: {}", lit);
                prop_assert!(!lit.chars().any(char::is_control));
                let inner: Vec<char> = lit[1..lit.len() - 1].chars().collect();
                let mut i = 0;
                while i < inner.len() {
                    if inner[i] == '\\' { i += 2; continue; }
                    prop_assert!(inner[i] != q, "unescaped quote in {lit}");
                    i += 1;
                }
            }
        }
    }
}
