//! The user guide's generated reference pages (`docs/src/reference/`): each
//! committed page is exactly what `imgf __docs` generates from the binary
//! (a test per page, naming the command that regenerates it), the check
//! mode finds stale, missing and obsolete pages, and the pages say what the
//! binary does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::support::{imgf, Project};

const REGENERATE: &str = "cargo run -- __docs --out-dir docs/src/reference";

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/reference")
}

/// The pages as the binary generates them now (generated once).
fn generated() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = imgf()
            .args(["__docs", "--out-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

/// The committed page `name` is the generated one.
fn assert_current(name: &str) {
    let new = read(generated(), name);
    let Ok(old) = std::fs::read_to_string(committed().join(name)) else {
        panic!("docs/src/reference/{name} is missing; generate the reference pages: {REGENERATE}");
    };
    if old != new {
        let line = old
            .lines()
            .zip(new.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| old.lines().count().min(new.lines().count()));
        panic!(
            "docs/src/reference/{name} is out of date (first difference at line {}: committed {:?}, generated {:?}); regenerate the reference pages: {REGENERATE}",
            line + 1,
            old.lines().nth(line).unwrap_or("<end>"),
            new.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

fn subcommand_pages(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("imgf-") && n.ends_with(".md"))
        .collect();
    names.sort();
    names
}

#[test]
fn commands_page_is_current() {
    assert_current("commands.md");
}

#[test]
fn every_subcommand_page_is_current_and_none_is_left_over() {
    let pages = subcommand_pages(generated());
    for must in [
        "imgf-synth.md",
        "imgf-updates.md",
        "imgf-updates-check.md",
        "imgf-inspect-ref.md",
    ] {
        assert!(
            pages.iter().any(|p| p == must),
            "{must} not generated: {pages:?}"
        );
    }
    for page in &pages {
        assert_current(page);
    }
    let committed_pages = subcommand_pages(&committed());
    assert_eq!(
        committed_pages, pages,
        "docs/src/reference/ has pages of commands imgf does not have, or lacks some; regenerate the reference pages: {REGENERATE}"
    );
}

#[test]
fn images_yaml_page_is_current() {
    assert_current("images-yaml.md");
}

#[test]
fn settings_page_is_current() {
    assert_current("settings.md");
}

#[test]
fn json_output_page_is_current() {
    assert_current("json-output.md");
}

#[test]
fn exit_codes_page_is_current() {
    assert_current("exit-codes.md");
}

#[test]
fn environment_page_is_current() {
    assert_current("environment.md");
}

/// `__docs --check` exits 1 naming a changed page, a missing one and the page
/// of a command that does not exist, and tells how to regenerate; writing
/// fixes all three.
#[test]
fn check_finds_stale_missing_and_obsolete_pages_and_writing_fixes_them() {
    let p = Project::new();
    let dir = p.path("reference");
    crate::support::copy_tree(generated(), &dir);
    let ok = p.run(&["__docs", "--check", "--out-dir", "reference"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.is_empty(), "{}", ok.stderr);

    std::fs::write(dir.join("settings.md"), "old\n").unwrap();
    std::fs::remove_file(dir.join("imgf-synth.md")).unwrap();
    std::fs::write(dir.join("imgf-gone.md"), "# imgf gone\n").unwrap();
    let r = p.run(&["__docs", "--check", "--out-dir", "reference"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("settings.md is out of date"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("imgf-synth.md is missing"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("imgf-gone.md documents no command"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(REGENERATE), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("settings.md")).unwrap(),
        "old\n"
    );

    let w = p.run(&["__docs", "--out-dir", "reference"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert!(!dir.join("imgf-gone.md").exists());
    let again = p.run(&["__docs", "--check", "--out-dir", "reference"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

/// The generator is for imgf's developers: not in the help, the man page
/// list or the completions.
#[test]
fn the_docs_command_is_hidden() {
    let p = Project::new();
    let help = p.run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("synth") && !help.stdout.contains("__docs"),
        "{}",
        help.stdout
    );
    assert!(!read(generated(), "commands.md").contains("`imgf __docs`"));
    assert!(!generated().join("imgf-__docs.md").exists());
}

/// The pages hold what the binary does, not just any text: every
/// subcommand, options with their defaults and values, the schemas' keys,
/// the exit codes and the variables.
#[test]
fn the_pages_describe_the_binary() {
    let commands = read(generated(), "commands.md");
    for sub in [
        "synth",
        "analyze",
        "record-update",
        "updates",
        "enroll",
        "status",
        "man",
    ] {
        assert!(
            commands.contains(&format!("[`imgf {sub}`](imgf-{sub}.md)")),
            "commands.md does not link {sub}"
        );
    }
    assert!(commands.contains("`--color <WHEN>`"), "{commands}");
    let synth = read(generated(), "imgf-synth.md");
    for text in [
        "# imgf synth",
        "`--check`",
        "`-o, --output <FILE|->`",
        "Default: `kargo`.",
        "`flux`",
        "- **1**: `synth --check`",
    ] {
        assert!(synth.contains(text), "imgf-synth.md lacks {text}:\n{synth}");
    }
    let check = read(generated(), "imgf-updates-check.md");
    assert!(
        check.contains("`GITHUB_TOKEN`") && check.contains("- **2**"),
        "{check}"
    );
    let images = read(generated(), "images-yaml.md");
    for text in [
        "## Enrollment",
        "| `rebuildDelay` |",
        "| `name` | string | yes |",
        "## Update",
        "- `kustomize-set-image`",
    ] {
        assert!(
            images.contains(text),
            "images-yaml.md lacks {text}:\n{images}"
        );
    }
    let settings = read(generated(), "settings.md");
    for text in ["| `analysis` |", "## AnalysisFile", "| `serviceAccount` |"] {
        assert!(
            settings.contains(text),
            "settings.md lacks {text}:\n{settings}"
        );
    }
    let codes = read(generated(), "exit-codes.md");
    for code in 0..=3 {
        assert!(
            codes.contains(&format!("\n| {code} |")),
            "exit-codes.md lacks {code}"
        );
    }
    let env = read(generated(), "environment.md");
    for var in [
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "GITHUB_TOKEN",
        "GITLAB_TOKEN",
        "COMPLETE",
    ] {
        assert!(
            env.contains(&format!("| `{var}` |")),
            "environment.md lacks {var}"
        );
    }
}

/// json-output.md documents the keys a real failing `--format json` run
/// writes, no more and no fewer.
#[test]
fn the_errors_shape_is_what_a_failing_run_writes() {
    let p = Project::new();
    let r = p.run(&["explain", "nope", "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let json: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let top: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(top, ["errors"]);
    let page = read(generated(), "json-output.md");
    let section = |heading: &str| {
        let start = page.find(heading).unwrap_or_else(|| panic!("no {heading}"));
        let rest = &page[start + heading.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    let keys = |section: &str| -> Vec<String> {
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(str::to_string))
            .collect()
    };
    assert_eq!(keys(&section("\n## Errors\n")), ["errors"]);
    let documented = keys(&section("\n## DiagnosticJson\n"));
    let written: Vec<String> = json["errors"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(documented, written);
}

/// mdbook renders only the pages SUMMARY.md lists: every generated page is
/// there, nested under its parent command.
#[test]
fn the_book_summary_lists_every_reference_page() {
    let summary_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(generated())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let line_of = |name: &str| {
        summary
            .lines()
            .find(|l| l.contains(&format!("(reference/{name})")))
            .unwrap_or_else(|| panic!("docs/src/SUMMARY.md does not list reference/{name}"))
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    for name in &names {
        let line = line_of(name);
        // imgf-updates-check.md sits under imgf-updates.md, which sits under commands.md.
        if let Some(stem) = name
            .strip_prefix("imgf-")
            .and_then(|n| n.strip_suffix(".md"))
        {
            let parent = match stem.rsplit_once('-') {
                Some((p, _)) if names.contains(&format!("imgf-{p}.md")) => format!("imgf-{p}.md"),
                _ => "commands.md".to_string(),
            };
            assert!(
                indent(line) > indent(line_of(&parent)),
                "SUMMARY.md: reference/{name} is not nested under reference/{parent}"
            );
        }
    }
}
