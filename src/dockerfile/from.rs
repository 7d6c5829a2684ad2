//! What each FROM names, with BuildKit's rules.
//!
//! First the instructions are checked in order as BuildKit's
//! `instructions.Parse` does (`frontend/dockerfile/instructions/parse.go`,
//! `bflag.go`): only ARG before the first FROM; in a FROM, flags come first
//! and only `--platform=<value>` is known; then exactly one argument (the
//! image) or three (`image AS name`), the stage name matching
//! `^[a-z][a-z0-9-_.]*$` once lower-cased. Then, in order, the image is
//! expanded with the ARGs declared before the first FROM and is:
//!
//! - a stage declared earlier (exact match against the lower-cased names),
//!   or the exact word `scratch`: not a base image;
//! - unresolved, with its line, when it needs an ARG that has no value or
//!   depends on the target platform and none was given;
//! - an error when it expands to nothing or to a reference Docker refuses
//!   (BuildKit fails the build the same way);
//! - otherwise a base image, normalised by [`ImageRef`].
//!
//! Every error names the line and column of the offending word, BuildKit's
//! own message, and the fix.

use super::expand::{expand, platform_args, split_words, Env};
use super::scan::{is_go_space, Instruction, Scanned};
use super::{BaseImage, Bases, Options, ParseError, Unresolved, DEFAULT_PLATFORM};
use crate::image_ref::{ImageRef, RefError};

/// BuildKit's message for a FROM with the wrong number of arguments.
const ARG_COUNT: &str = "FROM requires either one or three arguments";
/// The form of a FROM line, for help texts.
const FROM_FORM: &str = "write `FROM [--platform=<os/arch>] <image> [AS <name>]`";

/// Resolves the FROM lines of a scanned Dockerfile.
pub(super) fn resolve(scanned: &Scanned, opts: &Options) -> Result<Bases, ParseError> {
    let escape = scanned.escape;
    // BuildKit parses every instruction before it expands any: a malformed
    // FROM anywhere is reported first.
    let mut froms = Vec::new();
    for ins in &scanned.instructions {
        check_before_first_from(ins, !froms.is_empty())?;
        if ins.keyword == "from" {
            froms.push(FromLine::parse(ins, escape)?);
        }
    }
    if froms.is_empty() {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: "the Dockerfile has no FROM instruction".into(),
            help: "start the build with `FROM <image>`, like `FROM alpine:3.20`".into(),
        });
    }
    let mut froms = froms.into_iter();

    let mut env = Env::default();
    let platform = opts.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    for (k, v) in platform_args(platform) {
        env.vars.insert(k.to_string(), Some(v));
        env.platform.push(k);
    }
    let mut out = Bases {
        base_images: Vec::new(),
        unresolved: Vec::new(),
        stage_count: 0,
    };
    let mut stages: Vec<String> = Vec::new();
    // BuildKit resolves images after it has expanded every FROM.
    let mut invalid: Option<ParseError> = None;
    for ins in &scanned.instructions {
        match ins.keyword.as_str() {
            "arg" if out.stage_count == 0 => {
                for word in split_words(&ins.args, escape) {
                    let (name, default) = match word.split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => (word.clone(), None),
                    };
                    let (value, inherited) = match opts.build_args.get(&name) {
                        Some(v) => (Some(v.clone()), None),
                        None => match default.map(|d| expand(&d, &env, escape)) {
                            Some(ex) => {
                                let deps = (!ex.unset.is_empty() || !ex.platform.is_empty())
                                    .then_some((ex.unset, ex.platform));
                                (Some(ex.value), deps)
                            }
                            None => (None, None),
                        },
                    };
                    env.platform.retain(|p| *p != name);
                    match inherited {
                        Some(deps) => env.inherited.insert(name.clone(), deps),
                        None => env.inherited.remove(&name),
                    };
                    env.vars.insert(name, value);
                }
            }
            "from" => {
                let Some(from) = froms.next() else { break };
                out.stage_count += 1;
                let image = &from.image.text;
                let ex = expand(image, &env, escape);
                // Only names declared *before* this FROM are stages.
                let declared_before = stages.clone();
                if let Some(alias) = &from.alias {
                    stages.push(alias.text.to_ascii_lowercase());
                }
                let mut unresolved = |args: Vec<String>, reason: String| {
                    if !out.unresolved.iter().any(|u| &u.from == image) {
                        out.unresolved.push(Unresolved {
                            line: ins.line,
                            from: image.clone(),
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
                if value.is_empty() {
                    return Err(from.error(
                        &from.image,
                        format!(
                            "`{image}` expands to an empty image name (BuildKit: base name ({image}) should not be blank)"
                        ),
                        "give the ARG a default, like `ARG BASE=alpine:3.20`, or pass it with --build-arg".into(),
                    ));
                }
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
                    Err(why) if invalid.is_none() => {
                        invalid = Some(refused_reference(&from, &value, &why, &declared_before));
                    }
                    Err(_) => {}
                }
            }
            _ => {}
        }
    }
    match invalid {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// BuildKit's instructions (`frontend/dockerfile/command/command.go`).
const INSTRUCTIONS: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// What BuildKit's `instructions.Parse` refuses before the first FROM: any
/// instruction but ARG ("no build stage in current context").
///
/// BuildKit also refuses a name it does not know ("unknown instruction");
/// imgf does not check that (yet): the shared corpus expects its
/// 139.Dockerfile, a BuildKit parser fixture with an `other foo bar` line,
/// to be analysed.
fn check_before_first_from(ins: &Instruction, in_stage: bool) -> Result<(), ParseError> {
    if in_stage
        || matches!(ins.keyword.as_str(), "arg" | "from")
        || !INSTRUCTIONS.contains(&ins.keyword.as_str())
    {
        return Ok(());
    }
    let (line, column) = ins.name_position();
    Err(ParseError {
        line,
        column,
        message: format!(
            "`{}` comes before the first FROM (BuildKit: no build stage in current context)",
            ins.name
        ),
        help: "only ARG may come before the first FROM: move it below the FROM it belongs to"
            .into(),
    })
}

/// The error for a FROM whose value Docker refuses as a reference.
fn refused_reference(
    from: &FromLine<'_>,
    value: &str,
    why: &RefError,
    stages: &[String],
) -> ParseError {
    let image = &from.image.text;
    let what = if value == image {
        format!("`{value}` is not a valid image reference")
    } else {
        format!("`{image}` expands to `{value}`, which is not a valid image reference")
    };
    let lower = value.to_ascii_lowercase();
    let help = if stages.contains(&lower) {
        format!("stage names are lower-cased when declared: write `FROM {lower}` to build on that stage")
    } else if value != image {
        format!(
            "{}, in the ARG default or --build-arg that gives `{image}` its value",
            why.fix
        )
    } else {
        why.fix.clone()
    };
    from.error(
        &from.image,
        format!(
            "{what}: {} (BuildKit: failed to parse stage name \"{value}\": {})",
            why.problem, why.docker
        ),
        help,
    )
}

/// A word of a FROM line and the byte offset in the instruction's arguments
/// where it starts.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    at: usize,
}

/// A FROM line BuildKit accepts: `FROM [--platform=…] image [AS name]`.
struct FromLine<'a> {
    ins: &'a Instruction,
    image: Word,
    alias: Option<Word>,
}

impl<'a> FromLine<'a> {
    /// Checks a FROM line as BuildKit's `parseFrom` does, in its order: the
    /// number of arguments, the stage name, then the flags.
    fn parse(ins: &'a Instruction, escape: char) -> Result<FromLine<'a>, ParseError> {
        let (flags, rest_at) = builder_flags(&ins.args, escape);
        let words = arguments(&ins.args, rest_at);
        let at = |w: &Word| ins.position(w.at);
        let error = |w: Option<&Word>, message: String, help: String| {
            let (line, column) = match w {
                Some(w) => at(w),
                None => ins.position(ins.args.len()),
            };
            ParseError {
                line,
                column,
                message,
                help,
            }
        };
        let alias = match words.as_slice() {
            [_] => None,
            [_, as_, name] if as_.text.eq_ignore_ascii_case("as") => {
                if !valid_stage_name(&name.text.to_lowercase()) {
                    return Err(error(
                        Some(name),
                        format!(
                            "`{}` is not a valid stage name (BuildKit: invalid name for build stage: {:?}, name can't start with a number or contain symbols)",
                            name.text, name.text
                        ),
                        format!(
                            "a stage name starts with a letter and has only letters, digits, `-`, `_` and `.`: for example `AS {}`",
                            stage_name_suggestion(&name.text)
                        ),
                    ));
                }
                Some(name.clone())
            }
            _ => {
                let (w, message, help) = arg_count_problem(&flags, &words);
                return Err(error(w, message, help));
            }
        };
        let mut platform_seen = false;
        for f in &flags {
            let (flag, value) = match f.text.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (f.text.as_str(), None),
            };
            let name = &flag[2.min(flag.len())..];
            if name != "platform" {
                // Levenshtein distance, as BuildKit's flag suggestions measure it.
                let did_you_mean = if strsim::levenshtein(name, "platform") < 3 {
                    " (did you mean platform?)"
                } else {
                    ""
                };
                return Err(error(
                    Some(f),
                    format!("FROM has no flag `{flag}` (BuildKit: unknown flag: {flag}{did_you_mean})"),
                    "the only flag of FROM is `--platform=<os/arch>`, like `--platform=linux/amd64`"
                        .into(),
                ));
            }
            if platform_seen {
                return Err(error(
                    Some(f),
                    format!("`{flag}` is given twice (BuildKit: duplicate flag specified: {flag})"),
                    "keep one `--platform=`".into(),
                ));
            }
            platform_seen = true;
            if value.is_none() {
                return Err(error(
                    Some(f),
                    format!("`{flag}` has no value (BuildKit: missing a value on flag: {flag})"),
                    format!("join the flag and its value with `=`: `{flag}=linux/amd64`"),
                ));
            }
        }
        Ok(FromLine {
            ins,
            image: words[0].clone(),
            alias,
        })
    }

    /// An error at `word` of this line.
    fn error(&self, word: &Word, message: String, help: String) -> ParseError {
        let (line, column) = self.ins.position(word.at);
        ParseError {
            line,
            column,
            message,
            help,
        }
    }
}

/// What is wrong with a FROM line whose argument count BuildKit refuses: the
/// offending word, the message, the fix.
fn arg_count_problem<'w>(
    flags: &'w [Word],
    words: &'w [Word],
) -> (Option<&'w Word>, String, String) {
    let line = |flags: &[String], words: &[&str]| {
        let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
        all.extend(words);
        all.join(" ")
    };
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    // `--platform linux/amd64 alpine`: the flag's value became the image.
    if let (Some(f), Some(first)) = (
        flags
            .iter()
            .find(|f| f.text.len() > 2 && f.text != "--" && !f.text.contains('=')),
        words.first(),
    ) {
        let fixed: Vec<String> = flags
            .iter()
            .map(|g| {
                if std::ptr::eq(g, f) {
                    format!("{}={}", g.text, first.text)
                } else {
                    g.text.clone()
                }
            })
            .collect();
        return (
            Some(f),
            format!(
                "`{}` has no value, so BuildKit reads `{}` as the image and `{}` after it (BuildKit: {ARG_COUNT})",
                f.text,
                first.text,
                texts[1..].join(" ")
            ),
            format!(
                "join the flag and its value with `=`: `FROM {}`",
                line(&fixed, &texts[1..])
            ),
        );
    }
    match words {
        [] => (
            None,
            format!("FROM names no image (BuildKit: {ARG_COUNT})"),
            "write the base image after FROM, like `FROM alpine:3.20`".into(),
        ),
        [image, as_] if as_.text.eq_ignore_ascii_case("as") => (
            Some(as_),
            format!(
                "`{}` is not followed by a stage name (BuildKit: {ARG_COUNT})",
                as_.text
            ),
            format!(
                "name the stage, like `FROM {} AS build`, or remove `{}`",
                image.text, as_.text
            ),
        ),
        [image, second] if looks_like_tag(&image.text, &second.text) => (
            Some(second),
            format!(
                "`{}` follows the image `{}` as a second word (BuildKit: {ARG_COUNT})",
                second.text, image.text
            ),
            format!(
                "a tag follows the image name after `:`: `FROM {}:{}`",
                image.text, second.text
            ),
        ),
        [image, middle, name] => (
            Some(middle),
            format!(
                "`{}` stands where `AS` belongs (BuildKit: {ARG_COUNT})",
                middle.text
            ),
            format!(
                "write `FROM {} AS {}`, or {FROM_FORM}",
                image.text, name.text
            ),
        ),
        [_, as_, _, extra, ..] if as_.text.eq_ignore_ascii_case("as") => (
            Some(extra),
            format!(
                "`{}` follows the stage name (BuildKit: {ARG_COUNT})",
                texts[3..].join(" ")
            ),
            format!(
                "remove `{}`: nothing follows `AS <name>`",
                texts[3..].join(" ")
            ),
        ),
        _ => (
            words.get(1),
            format!(
                "`FROM {}` has {} words after FROM (BuildKit: {ARG_COUNT})",
                texts.join(" "),
                words.len()
            ),
            FROM_FORM.into(),
        ),
    }
}

/// Whether `second` reads as the tag of `image` (`FROM alpine 3.20`).
fn looks_like_tag(image: &str, second: &str) -> bool {
    let name = image.rsplit('/').next().unwrap_or(image);
    !name.contains(':')
        && !image.contains('@')
        && second.len() <= 128
        && second
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && second
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// BuildKit's `validStageName`, `^[a-z][a-z0-9-_.]*$`.
fn valid_stage_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// A valid stage name close to `s`: lower-cased, other characters as `-`,
/// `stage-` in front when it does not start with a letter.
fn stage_name_suggestion(s: &str) -> String {
    let mut out = String::new();
    for c in s.to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.') {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out
    } else if out.is_empty() {
        "build".into()
    } else {
        format!("stage-{out}")
    }
}

/// BuildKit's `extractBuilderFlags`: the `--flag` words at the start of the
/// arguments (quotes and escapes removed), and the offset where the rest
/// begins. A `--` word ends the flags.
fn builder_flags(line: &str, escape: char) -> (Vec<Word>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut start = 0;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    loop {
        let at_end = pos >= chars.len();
        let (offset, mut ch) = chars.get(pos).copied().unwrap_or((line.len(), '\0'));
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_go_space(ch) {
                pos += 1;
                continue;
            }
            if ch != '-' || chars.get(pos + 1).map(|c| c.1) != Some('-') {
                return (words, offset);
            }
            phase = Phase::Word;
            start = offset;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(Word {
                    text: word,
                    at: start,
                });
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (words, offset);
                }
                if blank_ok || !word.is_empty() {
                    words.push(Word {
                        text: std::mem::take(&mut word),
                        at: start,
                    });
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = chars[pos].1;
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        if ch == escape {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = chars[pos].1;
        }
        word.push(ch);
        pos += 1;
    }
    (words, line.len())
}

/// BuildKit's `parseStringsWhitespaceDelimited` on what follows the flags:
/// words split at runs of `[\t\v\f\r ]`.
fn arguments(args: &str, from: usize) -> Vec<Word> {
    let rest = &args[from.min(args.len())..];
    let lead = rest.len() - rest.trim_start_matches(is_go_space).len();
    let body = rest.trim_matches(is_go_space);
    let base = from + lead;
    let is_sep = |c: char| matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ');
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in body.char_indices() {
        match (is_sep(c), start) {
            (true, Some(s)) => {
                words.push(Word {
                    text: body[s..i].to_string(),
                    at: base + s,
                });
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(Word {
            text: body[s..].to_string(),
            at: base + s,
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> (Vec<String>, String) {
        let (w, at) = builder_flags(s, '\\');
        (w.into_iter().map(|w| w.text).collect(), s[at..].to_string())
    }

    #[test]
    fn builder_flags_like_buildkit() {
        assert_eq!(
            flags("--platform=$BUILDPLATFORM golang AS b"),
            (
                vec!["--platform=$BUILDPLATFORM".into()],
                "golang AS b".into()
            )
        );
        assert_eq!(
            flags("--platform linux/amd64 alpine"),
            (vec!["--platform".into()], "linux/amd64 alpine".into())
        );
        assert_eq!(flags("-- --x"), (vec![], " --x".into()));
        assert_eq!(
            flags("--platform=\"linux/arm64\" a"),
            (vec!["--platform=linux/arm64".into()], "a".into())
        );
        assert_eq!(
            flags("--platform=x"),
            (vec!["--platform=x".into()], String::new())
        );
    }

    #[test]
    fn stage_names() {
        assert!(valid_stage_name("build-1.x_y"));
        assert!(!valid_stage_name("1bad"));
        assert!(!valid_stage_name("a@b"));
        assert_eq!(stage_name_suggestion("1bad"), "stage-1bad");
        assert_eq!(stage_name_suggestion("My@Stage"), "my-stage");
        assert!(valid_stage_name(&stage_name_suggestion("@@")));
    }
}
