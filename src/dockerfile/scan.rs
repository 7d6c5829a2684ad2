//! Splits Dockerfile text into logical instructions, as BuildKit's parser
//! does: parser directives, line continuations, comment and blank lines
//! inside them, heredocs, any instruction name in any case, CRLF, a BOM.

use super::ParseError;

/// One logical instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Instruction {
    /// Lower-cased instruction name.
    pub(super) keyword: String,
    pub(super) args: String,
    /// 1-based line where it starts.
    pub(super) line: usize,
}

/// A Dockerfile split into instructions.
#[derive(Debug)]
pub(super) struct Scanned {
    pub(super) escape: char,
    pub(super) instructions: Vec<Instruction>,
}

/// Splits Dockerfile text into logical instructions, as BuildKit's parser
/// does.
pub(super) fn scan(text: &str) -> Result<Scanned, ParseError> {
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
pub(super) fn heredoc_delimiters(args: &str) -> Vec<(String, bool)> {
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
