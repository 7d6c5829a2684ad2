//! Dockerfile analysis: which images a Dockerfile is built on, with
//! BuildKit's semantics.
//!
//! [`scan`] splits the file the way BuildKit's parser does — parser
//! directives (`# escape=`), line continuations, comment and blank lines
//! inside them, heredocs after any `<<` of RUN/COPY/ADD, any instruction
//! name in any case, CRLF and a UTF-8 BOM — and only ARG and FROM are looked
//! at. (`parse-dockerfile` was tried first: it rejects real Dockerfiles that
//! BuildKit accepts — `RUN cat <<EOF > file`, instructions it does not know —
//! four of the 195 corpus files.) What a FROM *means* is decided here:
//!
//! - every FROM of a multi-stage build counts; only the exact word `scratch`
//!   is the empty image; a FROM naming a stage declared earlier (names are
//!   lower-cased when declared, compared case-sensitively) is not a base;
//!   `--platform` is not part of the image;
//! - ARGs declared before the first FROM are expanded with shell parameter
//!   rules (`$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `#`/`##`/
//!   `%`/`%%` trimming, nesting), ARG defaults may use earlier ARGs, the
//!   platform built-ins (`TARGETARCH`…) come from a platform setting, and
//!   build arguments override declared defaults;
//! - a FROM that depends on an ARG with no value is reported as unresolved
//!   with its line, never turned into an image;
//! - references are normalised ([`ImageRef`]) and de-duplicated in first-seen
//!   order.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::image_ref::ImageRef;

/// How to evaluate a Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--build-arg` values (override declared ARG defaults).
    pub build_args: BTreeMap<String, String>,
    /// The target (and build) platform, `os/arch[/variant]`. Without one,
    /// `linux/amd64` is used to match stage names, but a FROM whose *image*
    /// depends on a platform built-in is reported as unresolved: it is a
    /// different image per platform.
    pub platform: Option<String>,
}

/// The platform assumed when none is given.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// A base image found in a FROM line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The FROM value after ARG expansion, as written.
    pub reference: String,
    pub image: ImageRef,
    /// 1-based line of the FROM.
    pub line: usize,
}

/// A FROM whose image could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unresolved {
    pub line: usize,
    /// The FROM value as written.
    pub from: String,
    /// ARGs it needs that have no value.
    pub args: Vec<String>,
    pub reason: String,
}

/// What a Dockerfile is built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub base_images: Vec<BaseImage>,
    pub unresolved: Vec<Unresolved>,
    pub stage_count: usize,
}

/// A Dockerfile that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Analyses Dockerfile source text.
pub fn analyze(text: &str, opts: &Options) -> Result<Analysis, ParseError> {
    let scanned = scan(text)?;
    let escape = scanned.escape;

    let mut env = Env::default();
    let platform = opts.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    for (k, v) in platform_args(platform) {
        env.vars.insert(k.to_string(), Some(v));
        env.platform.push(k);
    }
    let mut out = Analysis {
        base_images: Vec::new(),
        unresolved: Vec::new(),
        stage_count: 0,
    };
    let mut stages: Vec<String> = Vec::new();
    for ins in &scanned.instructions {
        match ins.keyword.as_str() {
            "arg" if out.stage_count == 0 => {
                for word in split_words(&ins.args, escape) {
                    let (name, default) = match word.split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => (word.clone(), None),
                    };
                    let value = match opts.build_args.get(&name) {
                        Some(v) => Some(v.clone()),
                        None => default.map(|d| expand(&d, &env, escape).value),
                    };
                    env.platform.retain(|p| *p != name);
                    env.vars.insert(name, value);
                }
            }
            "from" => {
                out.stage_count += 1;
                let Some(from) = FromArgs::parse(&ins.args) else {
                    return Err(ParseError {
                        line: ins.line,
                        column: 1,
                        message: "FROM needs an image".into(),
                    });
                };
                let ex = expand(&from.image, &env, escape);
                if let Some(alias) = &from.alias {
                    stages.push(alias.to_ascii_lowercase());
                }
                let mut unresolved = |args: Vec<String>, reason: String| {
                    if !out.unresolved.iter().any(|u| u.from == from.image) {
                        out.unresolved.push(Unresolved {
                            line: ins.line,
                            from: from.image.clone(),
                            args,
                            reason,
                        });
                    }
                };
                if !ex.unset.is_empty() {
                    let reason = format!("needs a value for {}", ex.unset.join(", "));
                    unresolved(ex.unset, reason);
                    continue;
                }
                let value = ex.value;
                // Only names declared *before* this FROM are stages.
                let declared_before = &stages[..stages.len() - usize::from(from.alias.is_some())];
                if value == "scratch" || declared_before.contains(&value) {
                    continue;
                }
                if !ex.platform.is_empty() && opts.platform.is_none() {
                    let reason = format!(
                        "the image depends on the target platform ({}); for {DEFAULT_PLATFORM} it is `{value}` (pass --platform to choose one)",
                        ex.platform.join(", ")
                    );
                    unresolved(ex.platform, reason);
                    continue;
                }
                match ImageRef::parse(&value) {
                    Ok(image) => {
                        if !out.base_images.iter().any(|b| b.image == image) {
                            out.base_images.push(BaseImage {
                                reference: value,
                                image,
                                line: ins.line,
                            });
                        }
                    }
                    Err(why) => unresolved(
                        Vec::new(),
                        format!("`{value}` is not a valid image reference: {why}"),
                    ),
                }
            }
            _ => {}
        }
    }
    if out.stage_count == 0 {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: "the Dockerfile has no FROM instruction".into(),
        });
    }
    Ok(out)
}

/// `FROM [--flag=…]… image [AS name]`.
struct FromArgs {
    image: String,
    alias: Option<String>,
}

impl FromArgs {
    fn parse(args: &str) -> Option<FromArgs> {
        let mut words = args.split_whitespace().skip_while(|w| w.starts_with("--"));
        let image = words.next()?.to_string();
        let alias = match (words.next(), words.next()) {
            (Some(k), Some(name)) if k.eq_ignore_ascii_case("as") => Some(name.to_string()),
            _ => None,
        };
        Some(FromArgs { image, alias })
    }
}

/// One logical instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Instruction {
    /// Lower-cased instruction name.
    keyword: String,
    args: String,
    /// 1-based line where it starts.
    line: usize,
}

/// A Dockerfile split into instructions.
#[derive(Debug)]
struct Scanned {
    escape: char,
    instructions: Vec<Instruction>,
}

/// Splits Dockerfile text into logical instructions, as BuildKit's parser
/// does.
fn scan(text: &str) -> Result<Scanned, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut escape = '\\';
    let mut i = 0;
    // Parser directives: `# key=value` lines at the very top.
    while i < lines.len() {
        let Some(body) = lines[i].trim_start().strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = body.split_once('=') else {
            break;
        };
        let key = k.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            escape = match v.trim() {
                "`" => '`',
                "\\" => '\\',
                other => {
                    return Err(ParseError {
                        line: i + 1,
                        column: 1,
                        message: format!("invalid escape directive `{other}`: use \\ or `"),
                    })
                }
            };
        }
        i += 1;
    }
    let is_skippable = |l: &str| {
        let t = l.trim_start();
        t.is_empty() || t.starts_with('#')
    };
    let mut instructions = Vec::new();
    while i < lines.len() {
        if is_skippable(lines[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut logical = String::new();
        loop {
            let line = lines[i].trim_end();
            i += 1;
            match line.strip_suffix(escape) {
                Some(head) if i < lines.len() => {
                    logical.push_str(head);
                    // Comment and blank lines inside a continuation are dropped.
                    while i < lines.len() && is_skippable(lines[i]) {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                }
                _ => {
                    logical.push_str(line);
                    break;
                }
            }
        }
        let trimmed = logical.trim_start();
        let (keyword, args) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        let keyword = keyword.to_ascii_lowercase();
        if matches!(keyword.as_str(), "run" | "copy" | "add") {
            for (delim, strip_tabs) in heredoc_delimiters(args) {
                // The heredoc body runs to a line that is exactly the delimiter.
                while i < lines.len() {
                    let l = if strip_tabs {
                        lines[i].trim_start_matches('\t')
                    } else {
                        lines[i]
                    };
                    i += 1;
                    if l == delim {
                        break;
                    }
                }
            }
        }
        instructions.push(Instruction {
            keyword,
            args: args.trim().to_string(),
            line: start + 1,
        });
    }
    Ok(Scanned {
        escape,
        instructions,
    })
}

/// The heredoc delimiters opened on an instruction line (`<<EOF`,
/// `<<-"EOF"`, `<<'EOF'`), in order; `true` when leading tabs are stripped.
fn heredoc_delimiters(args: &str) -> Vec<(String, bool)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r#"<<(-?)(?:"([^"\s]+)"|'([^'\s]+)'|([A-Za-z0-9_][A-Za-z0-9_.-]*))"#)
            .expect("valid regex")
    });
    re.captures_iter(args)
        .filter_map(|c| {
            let word = c
                .get(2)
                .or_else(|| c.get(3))
                .or_else(|| c.get(4))?
                .as_str()
                .to_string();
            Some((word, !c[1].is_empty()))
        })
        .collect()
}

/// The platform built-ins BuildKit defines in the global scope.
fn platform_args(platform: &str) -> Vec<(&'static str, String)> {
    let mut parts = platform.splitn(3, '/');
    let os = parts.next().unwrap_or("linux").to_string();
    let arch = parts.next().unwrap_or("amd64").to_string();
    let variant = parts.next().unwrap_or("").to_string();
    let mut v = Vec::new();
    for prefix in ["TARGET", "BUILD"] {
        let (p, o, a, var) = match prefix {
            "TARGET" => ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"),
            _ => ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"),
        };
        v.push((p, platform.to_string()));
        v.push((o, os.clone()));
        v.push((a, arch.clone()));
        v.push((var, variant.clone()));
    }
    v
}

/// Variables in scope: `None` is declared without a value (unset).
#[derive(Debug, Default)]
struct Env {
    vars: HashMap<String, Option<String>>,
    /// The platform built-ins not re-declared by the Dockerfile.
    platform: Vec<&'static str>,
}

impl Env {
    fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|v| v.as_deref())
    }
}

/// The result of expanding a word.
#[derive(Debug, Default, PartialEq)]
struct Expansion {
    value: String,
    /// Variables whose (missing) value the result depends on.
    unset: Vec<String>,
    /// Platform built-ins whose value the result depends on.
    platform: Vec<String>,
}

/// Splits ARG arguments into words (`A=1 B="x y"`), keeping quotes for
/// [`expand`] to remove.
fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (_, c) if c == escape => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Expands `$V`/`${…}` in `word` and removes shell quotes, as BuildKit's
/// shell lexer does for FROM and ARG values.
fn expand(word: &str, env: &Env, escape: char) -> Expansion {
    let chars: Vec<char> = word.chars().collect();
    let mut out = Expansion::default();
    let mut i = 0;
    let mut in_double = false;
    while i < chars.len() {
        let c = chars[i];
        if c == escape && i + 1 < chars.len() {
            // In double quotes only `$`, `"`, the escape and newline are escaped.
            let n = chars[i + 1];
            if !in_double || n == '$' || n == '"' || n == escape {
                out.value.push(n);
                i += 2;
                continue;
            }
            out.value.push(c);
            i += 1;
            continue;
        }
        match c {
            '\'' if !in_double => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == '\'')
                    .map_or(chars.len(), |p| i + 1 + p);
                out.value.extend(&chars[i + 1..end]);
                i = end + 1;
            }
            '"' => {
                in_double = !in_double;
                i += 1;
            }
            '$' => {
                let (consumed, part) = parameter(&chars[i + 1..], env, escape);
                if consumed == 0 {
                    out.value.push('$');
                    i += 1;
                } else {
                    out.value.push_str(&part.value);
                    for u in part.unset {
                        if !out.unset.contains(&u) {
                            out.unset.push(u);
                        }
                    }
                    for p in part.platform {
                        if !out.platform.contains(&p) {
                            out.platform.push(p);
                        }
                    }
                    i += 1 + consumed;
                }
            }
            c => {
                out.value.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands one parameter after a `$`; returns the characters consumed.
fn parameter(rest: &[char], env: &Env, escape: char) -> (usize, Expansion) {
    let unset_var = |name: &str| Expansion {
        value: String::new(),
        unset: vec![name.to_string()],
        platform: Vec::new(),
    };
    let value_of = |name: &str| match env.get(name) {
        Some(v) => Expansion {
            value: v.to_string(),
            unset: Vec::new(),
            platform: if env.platform.contains(&name) {
                vec![name.to_string()]
            } else {
                Vec::new()
            },
        },
        None => unset_var(name),
    };
    match rest.first() {
        Some(&c) if is_name_start(c) => {
            let len = rest.iter().take_while(|c| is_name_char(**c)).count();
            let name: String = rest[..len].iter().collect();
            (len, value_of(&name))
        }
        Some('{') => {
            // Find the matching `}` (nested braces allowed in the word).
            let mut depth = 0;
            let mut end = None;
            let mut k = 1;
            while k < rest.len() {
                match rest[k] {
                    c if c == escape => k += 1,
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = Some(k);
                        break;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
                k += 1;
            }
            let Some(end) = end else {
                return (0, Expansion::default());
            };
            let inner: String = rest[1..end].iter().collect();
            let name_len = inner.chars().take_while(|c| is_name_char(*c)).count();
            let name = &inner[..name_len];
            let op = &inner[name_len..];
            let current = env.get(name);
            let declared_nonempty = current.is_some_and(|v| !v.is_empty());
            let word = |w: &str| expand(w, env, escape);
            let result = if op.is_empty() {
                value_of(name)
            } else if let Some(w) = op.strip_prefix(":-") {
                if declared_nonempty {
                    value_of(name)
                } else {
                    word(w)
                }
            } else if let Some(w) = op.strip_prefix(":+") {
                if declared_nonempty {
                    word(w)
                } else {
                    Expansion::default()
                }
            } else if let Some(w) = op.strip_prefix(":?") {
                if declared_nonempty {
                    value_of(name)
                } else {
                    let _ = w;
                    unset_var(name)
                }
            } else if let Some(w) = op.strip_prefix('-') {
                if current.is_some() {
                    value_of(name)
                } else {
                    word(w)
                }
            } else if let Some(w) = op.strip_prefix('+') {
                if current.is_some() {
                    word(w)
                } else {
                    Expansion::default()
                }
            } else if let Some(p) = op.strip_prefix("##") {
                trim(current, name, &word(p).value, Trim::LongestPrefix)
            } else if let Some(p) = op.strip_prefix('#') {
                trim(current, name, &word(p).value, Trim::ShortestPrefix)
            } else if let Some(p) = op.strip_prefix("%%") {
                trim(current, name, &word(p).value, Trim::LongestSuffix)
            } else if let Some(p) = op.strip_prefix('%') {
                trim(current, name, &word(p).value, Trim::ShortestSuffix)
            } else if let Some(p) = op.strip_prefix('/') {
                let (pat, rep) = p.split_once('/').unwrap_or((p, ""));
                match current {
                    Some(v) => Expansion {
                        value: replace_first(v, &word(pat).value, &word(rep).value),
                        ..Expansion::default()
                    },
                    None => unset_var(name),
                }
            } else {
                // Unknown operator: BuildKit fails; treat the whole thing as unresolved.
                unset_var(name)
            };
            (end + 1, result)
        }
        _ => (0, Expansion::default()),
    }
}

#[derive(Clone, Copy)]
enum Trim {
    ShortestPrefix,
    LongestPrefix,
    ShortestSuffix,
    LongestSuffix,
}

fn trim(current: Option<&str>, name: &str, pattern: &str, how: Trim) -> Expansion {
    let Some(v) = current else {
        return Expansion {
            unset: vec![name.to_string()],
            ..Expansion::default()
        };
    };
    let idx: Vec<usize> = v
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(v.len()))
        .collect();
    let value = match how {
        Trim::ShortestPrefix => idx
            .iter()
            .find(|&&i| glob(pattern, &v[..i]))
            .map_or(v, |&i| &v[i..]),
        Trim::LongestPrefix => idx
            .iter()
            .rev()
            .find(|&&i| glob(pattern, &v[..i]))
            .map_or(v, |&i| &v[i..]),
        Trim::ShortestSuffix => idx
            .iter()
            .rev()
            .find(|&&i| glob(pattern, &v[i..]))
            .map_or(v, |&i| &v[..i]),
        Trim::LongestSuffix => idx
            .iter()
            .find(|&&i| glob(pattern, &v[i..]))
            .map_or(v, |&i| &v[..i]),
    };
    Expansion {
        value: value.to_string(),
        ..Expansion::default()
    }
}

fn replace_first(v: &str, pattern: &str, rep: &str) -> String {
    let idx: Vec<usize> = v
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(v.len()))
        .collect();
    for &s in &idx {
        for &e in idx.iter().rev() {
            if e >= s && e > s && glob(pattern, &v[s..e]) {
                return format!("{}{rep}{}", &v[..s], &v[e..]);
            }
        }
    }
    v.to_string()
}

/// Shell glob match of the whole of `s` against `pattern` (`*`, `?`, `\x`).
fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|k| go(&p[1..], &s[k..])),
            Some('?') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&p[2..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(text: &str) -> Vec<String> {
        analyze(text, &Options::default())
            .unwrap()
            .base_images
            .into_iter()
            .map(|b| b.image.canonical())
            .collect()
    }

    fn env(pairs: &[(&str, Option<&str>)]) -> Env {
        Env {
            vars: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.map(str::to_string)))
                .collect(),
            platform: Vec::new(),
        }
    }

    #[test]
    fn parameter_forms() {
        let e = env(&[
            ("V", Some("1.2.3")),
            ("EMPTY", Some("")),
            ("UNSET", None),
            ("IMG", Some("node:22-slim")),
        ]);
        let x = |w: &str| expand(w, &e, '\\');
        assert_eq!(x("$V").value, "1.2.3");
        assert_eq!(x("${V}").value, "1.2.3");
        assert_eq!(x("${NOPE:-d}").value, "d");
        assert_eq!(x("${EMPTY:-d}").value, "d");
        assert_eq!(x("${EMPTY-d}").value, "");
        assert_eq!(x("${UNSET-d}").value, "d");
        assert_eq!(x("${V:+set}").value, "set");
        assert_eq!(x("${EMPTY:+set}").value, "");
        assert_eq!(x("${EMPTY+set}").value, "set");
        assert_eq!(x("${UNSET+set}").value, "");
        assert_eq!(x("${V#*.}").value, "2.3");
        assert_eq!(x("${V##*.}").value, "3");
        assert_eq!(x("${V%.*}").value, "1.2");
        assert_eq!(x("${V%%.*}").value, "1");
        assert_eq!(x("${IMG%%:*}").value, "node");
        assert_eq!(x("${NOPE:-${V}}").value, "1.2.3");
        assert_eq!(x("a-${NOPE:-${EMPTY:-x}}-b").value, "a-x-b");
        assert_eq!(x("\\$V").value, "$V");
        assert_eq!(x("\"$V\"").value, "1.2.3");
        assert_eq!(x("'$V'").value, "$V");
        assert_eq!(x("$UNSET").unset, vec!["UNSET"]);
        assert_eq!(x("${NOPE}").unset, vec!["NOPE"]);
        assert!(x("${NOPE:-x}").unset.is_empty());
    }

    #[test]
    fn multi_stage_with_args_and_stage_references() {
        let text = "\
# syntax=docker/dockerfile:1
ARG GO=1.22
ARG BASE=alpine:3.20
FROM --platform=$BUILDPLATFORM golang:${GO} AS Builder
RUN go build
FROM builder AS test
FROM Builder AS upper
FROM ${BASE}
COPY --from=builder /x /x
FROM scratch
FROM golang:1.22
";
        let a = analyze(text, &Options::default()).unwrap();
        let refs: Vec<String> = a.base_images.iter().map(|b| b.image.canonical()).collect();
        assert_eq!(
            refs,
            [
                "docker.io/library/golang:1.22",
                "docker.io/library/alpine:3.20"
            ]
        );
        assert_eq!(a.base_images[0].line, 4);
        // `FROM Builder` does not match the stage declared as `builder`.
        assert_eq!(a.unresolved.len(), 1);
        assert!(
            a.unresolved[0].reason.contains("must be lowercase"),
            "{:?}",
            a.unresolved
        );
        assert_eq!(a.stage_count, 6);
    }

    #[test]
    fn unset_arg_is_unresolved_not_an_image() {
        let a = analyze(
            "ARG TAG\nFROM node:$TAG\nFROM python:3.12\n",
            &Options::default(),
        )
        .unwrap();
        assert_eq!(a.unresolved.len(), 1);
        assert_eq!(a.unresolved[0].line, 2);
        assert_eq!(a.unresolved[0].args, ["TAG"]);
        assert_eq!(a.base_images.len(), 1);
        let mut o = Options::default();
        o.build_args.insert("TAG".into(), "22".into());
        assert_eq!(
            analyze("ARG TAG\nFROM node:$TAG\n", &o)
                .unwrap()
                .base_images[0]
                .image
                .canonical(),
            "docker.io/library/node:22"
        );
    }

    #[test]
    fn platform_builtins_and_overrides() {
        let text = "FROM base-${TARGETARCH}\n";
        let a = analyze(text, &Options::default()).unwrap();
        assert!(
            a.base_images.is_empty(),
            "a per-platform image is not one base image"
        );
        assert_eq!(a.unresolved[0].args, ["TARGETARCH"]);
        assert!(
            a.unresolved[0].reason.contains("base-amd64"),
            "{}",
            a.unresolved[0].reason
        );
        // Naming a stage through a built-in is fine.
        assert!(bases("FROM alpine AS base-amd64\nFROM base-${TARGETARCH}\n").len() == 1);
        let o = Options {
            platform: Some("linux/arm64".into()),
            ..Options::default()
        };
        assert_eq!(
            analyze(text, &o).unwrap().base_images[0].image.canonical(),
            "docker.io/library/base-arm64:latest"
        );
    }

    #[test]
    fn args_after_the_first_from_are_not_global() {
        let a = analyze("FROM alpine\nARG V=1\nFROM node:$V\n", &Options::default()).unwrap();
        assert_eq!(a.unresolved.len(), 1);
    }

    #[test]
    fn arg_defaults_use_earlier_args() {
        assert_eq!(
            bases("ARG A=3.12\nARG B=python:${A}-slim C=x\nFROM $B\n"),
            ["docker.io/library/python:3.12-slim"]
        );
    }

    #[test]
    fn syntax_variants() {
        // Lower-case instructions, continuations with comments, CRLF, BOM, escape directive, heredoc.
        let text = "\u{feff}# escape=`\r\narg V=22\r\nfrom `\r\n  # a comment inside the continuation\r\n  node:${V} as build\r\nRUN <<EOF\r\nFROM not:an-instruction\r\nEOF\r\nFROM build\r\n";
        let a = analyze(text, &Options::default()).unwrap();
        let refs: Vec<String> = a.base_images.iter().map(|b| b.image.canonical()).collect();
        assert_eq!(refs, ["docker.io/library/node:22"]);
    }

    #[test]
    fn duplicates_once_in_first_seen_order() {
        assert_eq!(
            bases("FROM node:18-alpine\nFROM python:3\nFROM docker.io/library/node:18-alpine\nFROM node:18-alpine\n"),
            ["docker.io/library/node:18-alpine", "docker.io/library/python:3"]
        );
    }

    proptest::proptest! {
        /// No Dockerfile text, however broken, makes analysis panic.
        #[test]
        fn never_panics(text in "(ARG|FROM|arg|from|RUN|#|<<|\\$|\\{|\\}|:|-|=|\\\\|`|\"|'|\n|\r| |[a-zA-Z0-9_./@])*") {
            let _ = analyze(&text, &Options::default());
        }
    }

    #[test]
    fn glob_matching() {
        assert!(glob("*.", "1."));
        assert!(glob("?x*", "axyz"));
        assert!(!glob("a", "ab"));
    }
}
