//! Completion of the command line by imgf itself: `clap_complete`'s dynamic
//! engine (`COMPLETE=SHELL imgf -- WORDS…`, its `unstable-dynamic`
//! feature). The scripts `imgf completions SHELL` prints only register imgf
//! with the shell; at each Tab the shell runs imgf, which answers from the
//! same clap definitions it parses with, plus what only it knows: the
//! images enrolled in the `--dir` of the partial command line (`explain`,
//! `unenroll`, `emergency --image`, `analyze --image`) and the base images
//! analysed there (`emergency --base`). `--dir` completes directories (its
//! value hint). This was chosen over a hidden `imgf __complete` because the
//! engine already speaks the protocol of bash, zsh, fish, elvish and
//! PowerShell; a hidden command would need a hand-written script per shell.
//!
//! A broken or missing images.yaml never fails a completion: the names a
//! line-based reading finds are offered, or none.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{EnvCompleter, Shells};

use crate::cli::{Cli, CompletionsArgs};
use crate::diagnostic::Error;
use crate::ExitStatus;

/// The environment variable that asks imgf to complete instead of running.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// The command line clap completes `args` with: `args` are the process's
/// arguments (`imgf -- imgf explain --dir x a` under `COMPLETE=bash`), from
/// which the `--dir` to read images.yaml from is taken.
pub fn completing_command(args: &[OsString]) -> clap::Command {
    let dir = dir_in(args);
    let names = {
        let dir = dir.clone();
        ArgValueCandidates::new(move || candidates(image_names(&dir)))
    };
    let bases = {
        let dir = dir.clone();
        ArgValueCandidates::new(move || {
            let mut all = base_names(&dir);
            all.extend(image_names(&dir));
            candidates(all)
        })
    };
    Cli::command()
        .mut_subcommand("explain", |c| c.mut_arg("image", |a| a.add(names.clone())))
        .mut_subcommand("unenroll", |c| c.mut_arg("name", |a| a.add(names.clone())))
        .mut_subcommand("analyze", |c| c.mut_arg("image", |a| a.add(names.clone())))
        .mut_subcommand("emergency", |c| {
            c.mut_arg("image", |a| a.add(names.clone()))
                .mut_arg("base", |a| a.add(bases))
        })
}

fn candidates(names: Vec<String>) -> Vec<CompletionCandidate> {
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// The `--dir` (or analyze's `--image-factory-dir`) of the words being
/// completed — those after the first `--` —, the last one given; else
/// `image-factory`. `~/` is the home directory (the shell has not expanded
/// it in a word still being typed).
fn dir_in(args: &[OsString]) -> PathBuf {
    let words: Vec<&OsStr> = args
        .iter()
        .map(OsString::as_os_str)
        .skip_while(|a| *a != "--")
        .skip(1)
        .collect();
    let mut dir: Option<&OsStr> = None;
    for (i, w) in words.iter().enumerate() {
        let Some(w) = w.to_str() else { continue };
        for flag in ["--dir", "--image-factory-dir"] {
            if w == flag {
                if let Some(v) = words.get(i + 1) {
                    dir = Some(v);
                }
            } else if let Some(v) = w.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                dir = Some(OsStr::new(v));
            }
        }
    }
    let dir = dir.unwrap_or(OsStr::new("image-factory"));
    match (
        dir.to_str().and_then(|d| d.strip_prefix("~/")),
        std::env::var_os("HOME"),
    ) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(dir),
    }
}

/// The names enrolled in `dir/images.yaml`, in file order: from the parsed
/// file, or where it does not parse, from each item's `name:` line as a
/// line-based reading finds it. None when there is no readable file.
pub(crate) fn image_names(dir: &Path) -> Vec<String> {
    let path = dir.join(crate::load::IMAGES_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let parsed = crate::config::parse::parse_value(&path, &text)
        .ok()
        .and_then(|v| v.as_sequence().cloned());
    let names: Vec<String> = match parsed {
        Some(items) => items
            .iter()
            .filter_map(|i| i.get("name")?.as_str().map(str::to_string))
            .collect(),
        None => line_names(&text),
    };
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .filter(|n| !n.is_empty() && !n.chars().any(|c| c.is_whitespace() || c.is_control()))
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// Each top-level item's `name:` value, read line by line (for a file
/// that does not parse).
fn line_names(text: &str) -> Vec<String> {
    let loc = crate::config::parse::Locator::new(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut names = Vec::new();
    let mut i = 0;
    while loc.item(i).is_some() {
        if let Some(at) = loc.key(i, "name") {
            let line = lines.get(at.line - 1).copied().unwrap_or("");
            let rest = line.get(at.column - 1..).unwrap_or("");
            if let Some(value) = rest
                .strip_prefix("name")
                .and_then(|r| r.trim_start().strip_prefix(':'))
            {
                let value = value.split(" #").next().unwrap_or("").trim();
                let value = value.trim_matches(|c| c == '"' || c == '\'');
                names.push(value.to_string());
            }
        }
        i += 1;
    }
    names
}

/// The base images analysed in `dir` (`state/base-images/NAME.yaml`), sorted.
fn base_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("state/base-images")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".yaml").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// `imgf completions SHELL`: the script registering imgf's completion with
/// the shell (what `COMPLETE=SHELL imgf` prints).
pub(crate) fn completions(
    args: &CompletionsArgs,
    sh: &mut crate::shell::Shell<'_>,
) -> Result<ExitStatus, Error> {
    let name = args.shell.to_string();
    let shells = Shells::builtins();
    let shell: &dyn EnvCompleter = shells
        .completer(&name)
        .ok_or_else(|| Error::Internal(format!("clap_complete has no completer for {name}")))?;
    let mut buf = Vec::new();
    shell
        .write_registration(COMPLETE_VAR, "imgf", "imgf", "imgf", &mut buf)
        .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
    if name == "zsh" {
        // Saved as `_imgf` in $fpath (`#compdef imgf`), zsh runs this file
        // as the function `_imgf` at the first Tab: complete then too, not
        // only from the second Tab on (as clap_complete's static zsh
        // scripts do). Sourced, it only registers.
        buf.extend_from_slice(
            b"if [ \"${funcstack[1]}\" = \"_imgf\" ]; then\n    _clap_dynamic_completer_imgf \"$@\"\nfi\n",
        );
    }
    sh.out_with(|out| out.write_all(&buf))?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_dir_is_the_last_one_on_the_partial_line() {
        assert_eq!(
            dir_in(&args(&["imgf", "--", "imgf", "explain", ""])),
            Path::new("image-factory")
        );
        assert_eq!(
            dir_in(&args(&[
                "imgf", "--", "imgf", "explain", "--dir", "a", "--dir=b", "x"
            ])),
            Path::new("b")
        );
        assert_eq!(
            dir_in(&args(&[
                "imgf",
                "--",
                "imgf",
                "analyze",
                "--image-factory-dir",
                "c",
                "--image",
                ""
            ])),
            Path::new("c")
        );
        // Before the `--`: the completer's own arguments, not the line.
        assert_eq!(
            dir_in(&args(&["imgf", "--dir", "z", "--", "imgf", "explain"])),
            Path::new("image-factory")
        );
    }

    #[test]
    fn names_of_a_broken_file_are_read_line_by_line() {
        let text = "# header\n- name: a\n  registry: r\n- name: 'b'  # quoted\n  updates:\n    - name: staging\n- registry: r\n  name: c\n  source: [unclosed\n";
        assert_eq!(line_names(text), ["a", "b", "c"]);
    }
}
