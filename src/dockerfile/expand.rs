//! ARG values: the platform built-ins, and shell parameter expansion as
//! BuildKit's shell lexer does it (`$V`, `${V:-w}`, trimming, nesting).

use std::collections::HashMap;

/// The platform built-ins BuildKit defines in the global scope, for a
/// platform as [`normalize_platform`] reads it (a value it refuses, which
/// the CLI never passes, is split as written).
pub(super) fn platform_args(platform: &str) -> Vec<(&'static str, String)> {
    let (os, arch, variant) = normalize_platform(platform).unwrap_or_else(|_| {
        let mut parts = platform.splitn(3, '/');
        (
            parts.next().unwrap_or("linux").to_string(),
            parts.next().unwrap_or("amd64").to_string(),
            parts.next().unwrap_or("").to_string(),
        )
    });
    let formatted = format_platform(&os, &arch, &variant);
    let mut v = Vec::new();
    for prefix in ["TARGET", "BUILD"] {
        let (p, o, a, var) = match prefix {
            "TARGET" => ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT"),
            _ => ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"),
        };
        v.push((p, formatted.clone()));
        // An OS version (`windows(10.0.20348)`) is part of the platform,
        // not of TARGETOS.
        v.push((o, os.split('(').next().unwrap_or("").to_string()));
        v.push((a, arch.clone()));
        v.push((var, variant.clone()));
    }
    v
}

fn format_platform(os: &str, arch: &str, variant: &str) -> String {
    [os, arch, variant]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// Operating systems and architectures Go knows (containerd's `knownOS`
/// and `knownArch`): a one-word platform is one of them.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// A `--platform` value as BuildKit reads it — containerd's
/// `platforms.Parse`, then `platforms.Normalize`: `os[/arch[/variant]]`,
/// case-insensitive, with the usual aliases (`x86_64` is `amd64`, `aarch64`
/// is `arm64`, `arm` is `arm/v7`, `macos` is `darwin`); one word is an OS
/// (on amd64) or an architecture (on linux). `(os, arch, variant)`, or why
/// the value is not a platform.
pub(super) fn normalize_platform(value: &str) -> Result<(String, String, String), String> {
    let word = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let os_word = |p: &str| match p.split_once('(') {
        Some((os, version)) => {
            word(os)
                && version.strip_suffix(')').is_some_and(|v| {
                    v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                })
        }
        None => word(p),
    };
    let parts: Vec<&str> = value.split('/').collect();
    let form = "write it as os/arch[/variant], like linux/amd64, linux/arm64 or windows/amd64";
    if parts.len() > 3 || !os_word(parts[0]) || !parts[1..].iter().all(|p| word(p)) {
        return Err(format!("`{value}` is not a platform; {form}"));
    }
    let os = normalize_os(parts[0]);
    match parts[..] {
        [one] => {
            if KNOWN_OS.contains(&os.split('(').next().unwrap_or("")) {
                Ok((os, "amd64".into(), String::new()))
            } else {
                let (arch, variant) = normalize_arch(one, "");
                if KNOWN_ARCH.contains(&arch.as_str()) {
                    Ok(("linux".into(), arch, variant))
                } else {
                    Err(format!(
                        "`{value}` is neither an operating system nor an architecture; {form}"
                    ))
                }
            }
        }
        [_, arch] => {
            let (arch, variant) = normalize_arch(arch, "");
            Ok((os, arch, variant))
        }
        [_, arch, variant] => {
            let (arch, variant) = normalize_arch(arch, variant);
            Ok((os, arch, variant))
        }
        _ => unreachable!("one to three parts"),
    }
}

/// The OS lower-cased (`macos` is `darwin`); an OS version in parentheses
/// is kept as written.
fn normalize_os(os: &str) -> String {
    let (name, version) = match os.split_once('(') {
        Some((name, version)) => (name, Some(version)),
        None => (os, None),
    };
    let name = match name.to_ascii_lowercase().as_str() {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
    };
    match version {
        Some(v) => format!("{name}({v}"),
        None => name,
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (arch, variant) = (arch.to_ascii_lowercase(), variant.to_ascii_lowercase());
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => (
            "amd64".into(),
            if variant == "v1" {
                String::new()
            } else {
                variant
            },
        ),
        "aarch64" | "arm64" => (
            "arm64".into(),
            match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                _ => variant,
            },
        ),
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => (
            "arm".into(),
            match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            },
        ),
        _ => (arch, variant),
    }
}

/// Variables in scope: `None` is declared without a value (unset).
#[derive(Debug, Default)]
pub(super) struct Env {
    pub(super) vars: HashMap<String, Option<String>>,
    /// The platform built-ins not re-declared by the Dockerfile.
    pub(super) platform: Vec<&'static str>,
    /// What an ARG's default depended on when it was expanded
    /// (`ARG BASE=img:${V}` depends on `V`): unset variables, then platform
    /// built-ins. Using the ARG depends on them too.
    pub(super) inherited: HashMap<String, (Vec<String>, Vec<String>)>,
}

impl Env {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|v| v.as_deref())
    }
}

/// The result of expanding a word.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Expansion {
    pub(super) value: String,
    /// Variables whose (missing) value the result depends on.
    pub(super) unset: Vec<String>,
    /// Platform built-ins whose value the result depends on.
    pub(super) platform: Vec<String>,
}

/// Splits ARG arguments into words (`A=1 B="x y"`), keeping quotes for
/// [`expand`] to remove.
pub(super) fn split_words(s: &str, escape: char) -> Vec<String> {
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
pub(super) fn expand(word: &str, env: &Env, escape: char) -> Expansion {
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
        Some(v) => {
            let (unset, mut platform) = env.inherited.get(name).cloned().unwrap_or_default();
            if env.platform.contains(&name) {
                platform.push(name.to_string());
            }
            Expansion {
                value: v.to_string(),
                unset,
                platform,
            }
        }
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
pub(super) fn glob(pattern: &str, s: &str) -> bool {
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
