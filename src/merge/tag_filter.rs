//! Tag filters: the regex that matches exactly the watched tag (in
//! [`crate::values`]), and the
//! repair of filters the old tool stored escaped twice.

use regex::Regex;

use crate::diagnostic::Diagnostic;
use crate::values::{self, exact_tag_regex};

/// Decides the tag filter: the stored one when it works, else one derived
/// from the tag, with a warning saying why.
pub(super) fn tag_filter(
    name: &str,
    tag: Option<String>,
    stored: Option<String>,
) -> Result<(Option<String>, String, Vec<Diagnostic>), Diagnostic> {
    let mut warnings = Vec::new();
    if let Some(t) = &tag {
        values::tag(t).map_err(|why| {
            Diagnostic::error(format!(
                "`{name}`: invalid tag `{}`: {why}",
                t.escape_debug()
            ))
        })?;
    }
    match (tag, stored) {
        (Some(t), Some(s)) => {
            let derived = exact_tag_regex(&t);
            // The two filters stored for a tag in practice are decided
            // without compiling a regex (thousands of state files hold
            // one): imgf's (`^3\.12-slim$`) matches the tag by
            // construction; the cdk8s app's (`^3\\.12-slim$`) needs a
            // backslash, which a tag (letters, digits, `_.-`) never holds.
            let matches = if s == derived {
                true
            } else if s == derived.replace("\\.", "\\\\.") {
                false
            } else {
                compiled_matches(&s, &t) == Some(true)
            };
            if matches && is_safe_regex(&s) {
                return Ok((Some(t), s, warnings));
            }
            warnings.push(Diagnostic::warning(format!(
                "`{name}`: stored tag filter `{s}` can never match its own tag `{t}` (the cdk8s app escaped it twice); using `{derived}`"
            )).help("`imgf analyze` rewrites the state file with the corrected filter"));
            Ok((Some(t), derived, warnings))
        }
        (Some(t), None) => {
            let derived = exact_tag_regex(&t);
            Ok((Some(t), derived, warnings))
        }
        (None, Some(s)) => {
            // Recover the tag the filter was meant for: `^3\\.12-slim$` → `3.12-slim`.
            let inner = s
                .trim_start_matches('^')
                .trim_end_matches('$')
                .replace("\\\\", "\\")
                .replace("\\.", ".");
            if values::tag(&inner).is_ok() {
                let derived = exact_tag_regex(&inner);
                if compiled_matches(&s, &inner) == Some(true) && is_safe_regex(&s) {
                    return Ok((Some(inner), s, warnings));
                }
                warnings.push(Diagnostic::warning(format!(
                    "`{name}`: stored tag filter `{s}` can never match the tag `{inner}` it was written for; using `{derived}`"
                )));
                Ok((Some(inner), derived, warnings))
            } else if compiled_matches(&s, "").is_some() && is_safe_regex(&s) {
                Ok((None, s, warnings))
            } else {
                Err(Diagnostic::error(format!(
                    "`{name}`: tag filter `{}` is not a usable regular expression",
                    s.escape_debug()
                ))
                .help("set `tag:` to the tag to watch instead"))
            }
        }
        (None, None) => Err(Diagnostic::error(format!("`{name}` has no tag to watch"))
            .help("add `tag: <tag>` to the image in images.yaml, like `tag: 22-bookworm-slim`")),
    }
}

/// Whether `pattern` compiles (`None` when not) and then matches `subject`.
/// Each pattern is compiled once per thread: thousands of images share a
/// few filters (`^26\.[0-9]+\.[0-9]+$`), and compiling one costs more than
/// everything else merge does for an image.
fn compiled_matches(pattern: &str, subject: &str) -> Option<bool> {
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Option<Regex>>> =
            std::cell::RefCell::default();
    }
    COMPILED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            cache.insert(pattern.to_string(), Regex::new(pattern).ok());
        }
        cache[pattern].as_ref().map(|re| re.is_match(subject))
    })
}

/// A stored regex goes into YAML and a Kargo field, never into an
/// expression; still, refuse ones carrying template or control characters.
fn is_safe_regex(s: &str) -> bool {
    !s.contains("${")
        && !s.contains("{{")
        && !s.chars().any(char::is_control)
        && !s.contains(['"', '\''])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The two stored filters decided without a regex are decided as
        /// the compiled regex decides them.
        #[test]
        fn known_filters_are_decided_as_the_regex_decides(tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}") {
            let exact = exact_tag_regex(&tag);
            let twice = exact.replace("\\.", "\\\\.");
            for stored in [exact, twice] {
                let works = Regex::new(&stored).unwrap().is_match(&tag);
                let (_, used, warnings) =
                    tag_filter("n", Some(tag.clone()), Some(stored.clone())).unwrap();
                prop_assert_eq!(works, used == stored);
                prop_assert_eq!(works, warnings.is_empty());
            }
        }
    }
}
