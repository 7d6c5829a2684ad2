//! What the man pages (`imgf man`) and the guide's reference pages
//! (`imgf __docs`) say beyond the clap definitions: the exit codes and the
//! environment variables, each for the commands it concerns, and the list of
//! commands that get a page. One table each, so the two never disagree.

use clap::CommandFactory;

/// Which commands a row concerns: every one, or those named by their path
/// (`"synth"`, `"updates check"`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    All,
    Only(&'static [&'static str]),
}

impl Scope {
    /// Whether the command at `path` (`"updates check"`; `""` for `imgf`
    /// itself, which every row concerns) is in scope.
    pub(crate) fn covers(self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(paths) => path.is_empty() || paths.contains(&path),
        }
    }
}

/// An exit code and what it means for the commands in its scope.
#[derive(Debug)]
pub(crate) struct ExitRow {
    pub code: u8,
    pub scope: Scope,
    pub meaning: &'static str,
}

/// Every exit code, by code. The codes come from [`crate::ExitStatus::code`]
/// and [`crate::Error::exit_code`]; a test holds this table to them.
pub(crate) const EXIT_CODES: &[ExitRow] = &[
    ExitRow {
        code: 0,
        scope: Scope::All,
        meaning: "Done.",
    },
    ExitRow {
        code: 1,
        scope: Scope::Only(&["synth"]),
        meaning: "`synth --check`: the output file is out of date (a diff is printed; nothing is written).",
    },
    ExitRow {
        code: 1,
        scope: Scope::Only(&["updates check"]),
        meaning: "`updates check`: every target was checked and problems were found.",
    },
    ExitRow {
        code: 2,
        scope: Scope::All,
        meaning: "Bad input or usage: every problem found is listed on stderr (with `--format json`, also as `{\"errors\": [...]}` on stdout) and nothing is written; or some of the work failed after the rest was done, and the last message says what was written.",
    },
    ExitRow {
        code: 2,
        scope: Scope::Only(&["updates check"]),
        meaning: "`updates check`: the check could not run completely (bad input, or a repository could not be fetched: some targets were not checked).",
    },
    ExitRow {
        code: 3,
        scope: Scope::All,
        meaning: "An internal error in imgf, a panic included: a bug, please report it.",
    },
];

/// An environment variable and what it changes for the commands in scope.
#[derive(Debug)]
pub(crate) struct EnvRow {
    pub name: &'static str,
    pub scope: Scope,
    pub meaning: &'static str,
}

/// The commands that run git (clones, fetches, commits, pushes).
const RUNS_GIT: &[&str] = &["analyze", "record-update", "updates check"];

/// Every environment variable imgf reads (or that the programs it runs
/// read on its behalf), in the order the pages list them.
pub(crate) const ENVIRONMENT: &[EnvRow] = &[
    EnvRow {
        name: "NO_COLOR",
        scope: Scope::All,
        meaning: "Set and not empty: no colour with `--color auto` (the default; see no-color.org).",
    },
    EnvRow {
        name: "CLICOLOR_FORCE",
        scope: Scope::All,
        meaning: "Set and not `0`: colour with `--color auto` even when stderr is not a terminal, unless NO_COLOR is set.",
    },
    EnvRow {
        name: "CLICOLOR",
        scope: Scope::All,
        meaning: "`0`: no colour with `--color auto`.",
    },
    EnvRow {
        name: "TERM",
        scope: Scope::All,
        meaning: "`dumb`: no colour with `--color auto`, and no progress line (`analyze`).",
    },
    EnvRow {
        name: "COMPLETE",
        scope: Scope::All,
        meaning: "Set to a shell (`bash`, `zsh`, `fish`, `elvish`, `powershell`): imgf completes the command line that follows `--` instead of running it. The scripts `imgf completions` prints set it; see imgf-completions(1).",
    },
    EnvRow {
        name: "GITHUB_TOKEN",
        scope: Scope::Only(RUNS_GIT),
        meaning: "A GitHub token, given to git in its environment (never on a command line) when imgf fetches a repository from GitHub: sources whose Dockerfile is not in the workspace (`analyze`), the `--state-repo` and its push (`analyze`, `record-update`), the repositories update targets are in (`updates check`).",
    },
    EnvRow {
        name: "GITLAB_TOKEN",
        scope: Scope::Only(&["analyze", "updates check"]),
        meaning: "The same for GitLab: sources built on GitLab (`analyze`), update targets' repositories on GitLab (`updates check`).",
    },
    EnvRow {
        name: "GIT_*",
        scope: Scope::Only(RUNS_GIT),
        meaning: "imgf runs `git`, so git's own variables and configuration apply; imgf sets GIT_TERMINAL_PROMPT=0, so git never waits for a password.",
    },
    EnvRow {
        name: "USER, LOGNAME",
        scope: Scope::Only(&["emergency"]),
        meaning: "Who runs the emergency, recorded in the audit entry when `--actor` is not given: $USER, else $LOGNAME, else the login name of the user id.",
    },
    EnvRow {
        name: "IMGF_POLL_SECONDS, IMGF_WAIT_SECONDS",
        scope: Scope::Only(&["emergency"]),
        meaning: "Read by the script `emergency` prints, not by imgf: how often (default 60) and for how long at most (default 7200 seconds) it waits for each new build.",
    },
    EnvRow {
        name: "IMGF_SKIP_AUTH_CHECK",
        scope: Scope::Only(&["emergency"]),
        meaning: "Read by the script `emergency` prints, not by imgf: `1` skips its per-Stage `kubectl auth can-i promote` check (a warning only: kubectl's identity may differ from the Kargo identity `kargo promote` acts as).",
    },
];

/// The command line as clap sees it once built, without the `help`
/// subcommand: what the pages describe.
pub(crate) fn command() -> clap::Command {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every command that gets a page, depth first in definition order: `imgf`
/// itself (path `[]`), then each subcommand not hidden (`["updates"]`,
/// `["updates", "check"]`…), with its path.
pub(crate) fn pages(cmd: &clap::Command) -> Vec<(Vec<String>, &clap::Command)> {
    fn walk<'a>(
        cmd: &'a clap::Command,
        path: &[String],
        out: &mut Vec<(Vec<String>, &'a clap::Command)>,
    ) {
        out.push((path.to_vec(), cmd));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(cmd, &[], &mut out);
    out
}

/// The exit codes that concern the command at `path` (`"updates check"`).
pub(crate) fn exit_codes(path: &str) -> impl Iterator<Item = &'static ExitRow> + '_ {
    EXIT_CODES.iter().filter(move |r| r.scope.covers(path))
}

/// The environment variables that concern the command at `path`.
pub(crate) fn environment(path: &str) -> impl Iterator<Item = &'static EnvRow> + '_ {
    ENVIRONMENT.iter().filter(move |r| r.scope.covers(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scoped row names a real command, and every code a command can
    /// exit with is in the table.
    #[test]
    fn rows_name_real_commands_and_every_exit_code() {
        use crate::ExitStatus as S;
        let cmd = command();
        let paths: Vec<String> = pages(&cmd).into_iter().map(|(p, _)| p.join(" ")).collect();
        let scopes = EXIT_CODES
            .iter()
            .map(|r| r.scope)
            .chain(ENVIRONMENT.iter().map(|r| r.scope));
        for scope in scopes {
            if let Scope::Only(names) = scope {
                for n in names {
                    assert!(paths.iter().any(|p| p == n), "no command `{n}`");
                }
            }
        }
        let codes = [S::Success, S::Drift, S::Problems, S::Incomplete]
            .map(S::code)
            .into_iter()
            .chain([
                crate::Error::Internal(String::new()).exit_code(),
                crate::Error::Input(Vec::new()).exit_code(),
            ]);
        for code in codes {
            assert!(
                EXIT_CODES.iter().any(|r| r.code == code),
                "exit code {code} is not documented"
            );
        }
    }

    #[test]
    fn pages_cover_nested_commands_and_skip_hidden_ones() {
        let cmd = command();
        let paths: Vec<String> = pages(&cmd).into_iter().map(|(p, _)| p.join(" ")).collect();
        assert_eq!(paths[0], "");
        for p in ["synth", "updates", "updates check", "inspect ref", "man"] {
            assert!(paths.iter().any(|x| x == p), "{p} missing from {paths:?}");
        }
        assert!(!paths.iter().any(|p| p.starts_with("__") || p == "help"));
    }
}
