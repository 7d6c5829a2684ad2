//! Splits Dockerfile text into logical instructions, as BuildKit's parser
//! (`frontend/dockerfile/parser/parser.go`) does: parser directives at the
//! top, line continuations, comment and blank lines inside them, heredocs,
//! any instruction name in any case, CRLF, a BOM. Every instruction keeps
//! where each of its characters came from, so later errors can name the
//! exact line and column.

use std::sync::LazyLock;

use regex::Regex;

use super::ParseError;

/// One logical instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Instruction {
    /// Lower-cased instruction name.
    pub(super) keyword: String,
    /// The instruction name as written.
    pub(super) name: String,
    /// Everything after the name and the whitespace that follows it.
    pub(super) args: String,
    /// 1-based line where it starts.
    pub(super) line: usize,
    /// The instruction with its continuations joined, as BuildKit sees it.
    logical: String,
    /// Where the name and the arguments start in `logical`.
    name_at: usize,
    args_at: usize,
    /// Where the pieces of `logical` come from: `(byte offset, line,
    /// column)`, one per physical line, in order.
    pieces: Vec<(usize, usize, usize)>,
}

impl Instruction {
    /// The 1-based line and column of byte `offset` of [`Instruction::args`]
    /// (the end of the instruction when `offset` is past it).
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        self.locate(self.args_at + offset.min(self.args.len()))
    }

    /// The 1-based line and column of the instruction's name.
    pub(super) fn name_position(&self) -> (usize, usize) {
        self.locate(self.name_at)
    }

    fn locate(&self, offset: usize) -> (usize, usize) {
        let Some(&(start, line, column)) = self.pieces.iter().rev().find(|p| p.0 <= offset) else {
            return (self.line, 1);
        };
        let chars = self
            .logical
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line, column + chars)
    }
}

/// A Dockerfile split into instructions.
#[derive(Debug)]
pub(super) struct Scanned {
    pub(super) escape: char,
    pub(super) instructions: Vec<Instruction>,
}

/// `unicode.IsSpace` (Go), what BuildKit trims around lines and words: the
/// same set as Unicode's `White_Space`.
pub(super) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Parser directives: `# key=value` lines at the very top, recognised while
/// they are one of BuildKit's (`syntax`, `escape`, `check`).
struct Directives {
    done: bool,
    seen: Vec<String>,
    escape: char,
}

impl Directives {
    /// Looks at one physical line (leading whitespace already removed).
    fn line(&mut self, line: &str, number: usize) -> Result<(), ParseError> {
        // Go's `\s` is ASCII whitespace without \v.
        static RE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$")
                .expect("valid regex")
        });
        if self.done {
            return Ok(());
        }
        let Some(body) = line.strip_prefix('#') else {
            self.done = true;
            return Ok(());
        };
        let re = &*RE;
        let Some(c) = re.captures(body.trim_start_matches(is_go_space)) else {
            self.done = true;
            return Ok(());
        };
        let key = c[1].to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(ParseError {
                line: number,
                column: 1,
                message: format!(
                    "a second `{key}` parser directive (BuildKit: only one {key} parser directive can be used)"
                ),
                help: "keep one of the two lines".into(),
            });
        }
        self.seen.push(key.clone());
        if key == "escape" {
            self.escape = match &c[2] {
                "`" => '`',
                "\\" => '\\',
                other => {
                    return Err(ParseError {
                        line: number,
                        column: 1,
                        message: format!(
                            "`{other}` is not an escape character (BuildKit: invalid escape token '{other}' does not match ` or \\)"
                        ),
                        help: "write `# escape=\\` (the default) or `# escape=``".into(),
                    })
                }
            };
        }
        Ok(())
    }
}

fn is_comment(line: &str) -> bool {
    line.trim_start_matches(is_go_space).starts_with('#')
}

/// BuildKit's `lineContinuationRegex`: the escape character at the end of the
/// line (then only spaces and tabs), not itself escaped. Returns the line
/// without it, or `None` when the line does not continue.
fn strip_continuation(line: &str, escape: char) -> Option<&str> {
    let body = line.trim_end_matches([' ', '\t']);
    let head = body.strip_suffix(escape)?;
    if head.ends_with(escape) {
        return None;
    }
    Some(head)
}

/// Splits Dockerfile text into logical instructions, as BuildKit's parser
/// does.
pub(super) fn scan(text: &str) -> Result<Scanned, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_end_matches(['\r', '\n']))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    let mut directives = Directives {
        done: false,
        seen: Vec::new(),
        escape: '\\',
    };
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let raw = lines[i];
        let first = raw.trim_start_matches(is_go_space);
        directives.line(first, i + 1)?;
        let escape = directives.escape;
        i += 1;
        if is_comment(first) {
            continue;
        }
        let mut logical = String::new();
        let mut pieces = Vec::new();
        let indent = raw.chars().count() - first.chars().count();
        let mut more = match strip_continuation(first, escape) {
            Some(head) => {
                pieces.push((0, start + 1, indent + 1));
                logical.push_str(head);
                true
            }
            None if first.is_empty() => continue,
            None => {
                pieces.push((0, start + 1, indent + 1));
                logical.push_str(first);
                false
            }
        };
        while more && i < lines.len() {
            let line = lines[i];
            directives.line(line, i + 1)?;
            i += 1;
            if is_comment(line) || line.trim_start_matches(is_go_space).is_empty() {
                continue;
            }
            pieces.push((logical.len(), i, 1));
            if let Some(head) = strip_continuation(line, escape) {
                logical.push_str(head);
            } else {
                logical.push_str(line);
                more = false;
            }
        }
        // `splitCommand`: the name, then the rest after the whitespace.
        let trimmed_start = logical.len() - logical.trim_start_matches(is_go_space).len();
        let body = logical.trim_matches(is_go_space);
        let (keyword, args_at) = match body.find([' ', '\t', '\u{b}', '\u{c}', '\r']) {
            Some(k) => {
                let after = &body[k..];
                let ws = after.len()
                    - after
                        .trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r'])
                        .len();
                (&body[..k], trimmed_start + k + ws)
            }
            None => (body, trimmed_start + body.len()),
        };
        let args = logical[args_at.min(logical.len())..]
            .trim_end_matches(is_go_space)
            .to_string();
        let name = keyword.to_string();
        let keyword = keyword.to_ascii_lowercase();
        let instruction = Instruction {
            keyword,
            name,
            args,
            line: start + 1,
            logical,
            name_at: trimmed_start,
            args_at,
            pieces,
        };
        i = skip_heredocs(&instruction, &lines, i)?;
        instructions.push(instruction);
    }
    Ok(Scanned {
        escape: directives.escape,
        instructions,
    })
}

/// Skips the bodies of the heredocs an instruction opens; returns the index
/// of the line after the last one.
fn skip_heredocs(ins: &Instruction, lines: &[&str], mut i: usize) -> Result<usize, ParseError> {
    let mut args = ins.args.as_str();
    let mut keyword = ins.keyword.as_str();
    if keyword == "onbuild" {
        // `ONBUILD RUN <<EOF`: the heredoc belongs to the inner instruction.
        let inner = args.trim_start_matches(is_go_space);
        let (k, rest) = inner
            .split_once(|c: char| is_go_space(c))
            .unwrap_or((inner, ""));
        keyword = k;
        args = rest;
    }
    if !matches!(
        keyword.to_ascii_lowercase().as_str(),
        "run" | "copy" | "add"
    ) || !args.contains("<<")
        || is_json_array(args)
    {
        return Ok(i);
    }
    for (name, chomp) in heredoc_delimiters(&ins.args) {
        let mut terminated = false;
        while i < lines.len() {
            let l = if chomp {
                lines[i].trim_start_matches('\t')
            } else {
                lines[i]
            };
            i += 1;
            if l == name {
                terminated = true;
                break;
            }
        }
        if !terminated {
            return Err(ParseError {
                line: ins.line,
                column: 1,
                message: format!(
                    "the heredoc `<<{name}` is never closed (BuildKit: unterminated heredoc)"
                ),
                help: format!("end it with a line that is exactly `{name}`"),
            });
        }
    }
    Ok(i)
}

/// The JSON (exec) form, `["a", "b"]`, which has no heredocs.
fn is_json_array(args: &str) -> bool {
    let a = args.trim_start_matches(is_go_space);
    a.starts_with('[') && serde_json::from_str::<Vec<String>>(a).is_ok()
}

/// The heredoc delimiters opened on an instruction line (`<<EOF`,
/// `<<-"EOF"`, `<<'EOF'`), in order; `true` when leading tabs are stripped.
/// As BuildKit: the line is split into shell words (quotes kept), and each
/// word that is all of `[digits]<<[-]word` opens one.
pub(super) fn heredoc_delimiters(args: &str) -> Vec<(String, bool)> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$").expect("valid regex"));
    let re = &*RE;
    raw_words(args)
        .iter()
        .filter_map(|w| {
            let c = re.captures(w)?;
            let name = unquote(&c[3]);
            (!name.is_empty()).then(|| (name, !c[2].is_empty()))
        })
        .collect()
}

/// Shell words with their quotes and escapes kept.
fn raw_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if is_go_space(c) => {
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
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                cur.push('\\');
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

/// A word with shell quotes and escapes removed.
fn unquote(w: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = w.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str) -> Vec<(String, String, usize)> {
        scan(text)
            .unwrap()
            .instructions
            .into_iter()
            .map(|i| (i.keyword, i.args, i.line))
            .collect()
    }

    #[test]
    fn continuation_follows_buildkit() {
        // An escaped escape at the end does not continue the line.
        assert_eq!(
            scanned("RUN a \\\\\nFROM b\n"),
            [
                ("run".into(), "a \\\\".into(), 1),
                ("from".into(), "b".into(), 2)
            ]
        );
        // A continuation at the end of the file ends the instruction.
        assert_eq!(
            scanned("FROM alpine \\"),
            [("from".into(), "alpine".into(), 1)]
        );
        // Spaces after the escape still continue.
        assert_eq!(
            scanned("FROM \\  \n  alpine\n"),
            [("from".into(), "alpine".into(), 1)]
        );
    }

    #[test]
    fn directives_stop_at_the_first_other_line() {
        // `# foo=bar` is not a directive, so the escape line is a comment.
        let s = scan("# foo=bar\n# escape=`\nFROM a\n").unwrap();
        assert_eq!(s.escape, '\\');
        let e = scan("# escape=`\n# escape=\\\nFROM a\n").unwrap_err();
        assert!(
            e.message.contains("only one escape parser directive"),
            "{}",
            e.message
        );
        assert_eq!(e.line, 2);
    }

    #[test]
    fn positions_name_the_physical_line_and_column() {
        let s = scan("  FROM \\\n   # c\n  alpine  AS  build\n").unwrap();
        let ins = &s.instructions[0];
        assert_eq!(ins.args, "alpine  AS  build");
        assert_eq!(ins.position(0), (3, 3));
        assert_eq!(ins.position(12), (3, 15));
        assert_eq!(ins.position(99), (3, 20));
        let s = scan("FROM   node:22 AS b\n").unwrap();
        assert_eq!(s.instructions[0].position(0), (1, 8));
        assert_eq!(s.instructions[0].position(12), (1, 20));
    }

    #[test]
    fn heredocs_are_words() {
        assert_eq!(heredoc_delimiters("cat <<EOF > x"), [("EOF".into(), false)]);
        assert_eq!(heredoc_delimiters("<<-\"E O\""), [("E O".into(), true)]);
        assert!(heredoc_delimiters("echo \"<<EOF\"").is_empty());
        assert!(heredoc_delimiters("cat <<<here").is_empty());
        let e = scan("FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert!(e.message.contains("unterminated heredoc"), "{}", e.message);
        assert_eq!(
            scanned("FROM a\nRUN [\"sh\", \"<<EOF\"]\nFROM b\n").len(),
            3,
            "the JSON form has no heredoc"
        );
    }
}
