//! `imgf man`: `imgf.1` on stdout, or with `--out-dir` a page per
//! subcommand, nested ones too, each with its options, EXIT STATUS and
//! ENVIRONMENT; and every page renders with groff without a warning.

use clap::CommandFactory;

use crate::support::Project;

/// `imgf-updates-check.1` for every command the clap definitions have that
/// is not hidden, and `imgf.1`.
fn expected_pages() -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let name = format!("{prefix}-{}", sub.get_name());
            out.push(format!("{name}.1"));
            walk(sub, &name, out);
        }
    }
    let mut out = vec!["imgf.1".to_string()];
    walk(&imgf::cli::Cli::command(), "imgf", &mut out);
    out.sort();
    // A floor, so the test cannot pass on an empty list.
    for must in [
        "imgf-synth.1",
        "imgf-updates.1",
        "imgf-updates-check.1",
        "imgf-inspect-dockerfile.1",
        "imgf-man.1",
    ] {
        assert!(out.iter().any(|p| p == must), "{must} missing from {out:?}");
    }
    out
}

/// Writes the pages into a temporary directory; returns it and the pages'
/// names.
fn write_pages() -> (Project, std::path::PathBuf, Vec<String>) {
    let p = Project::new();
    let r = p.run(&["man", "--out-dir", "man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("wrote"), "{}", r.stderr);
    let dir = p.path("man");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    (p, dir, names)
}

#[test]
fn man_prints_imgf_1_with_the_subcommands_exit_status_and_environment() {
    let r = Project::new().run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // clap_mangen opens with two lines defining the \*(Aq string; the title
    // line comes before any section.
    let th = r.stdout.find("\n.TH imgf 1").expect("a .TH line");
    let sh = r.stdout.find("\n.SH NAME").expect("a NAME section");
    assert!(th < sh);
    assert!(r.stdout.contains("\n.SH SUBCOMMANDS"));
    let top = imgf::cli::Cli::command();
    let subs: Vec<&str> = top
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(clap::Command::get_name)
        .collect();
    assert!(subs.contains(&"record-update"), "{subs:?}");
    for sub in subs {
        // roff escapes '-' as '\-': `imgf\-record\-update(1)`.
        let roff = format!("imgf\\-{}(1)", sub.replace('-', "\\-"));
        assert!(r.stdout.contains(&roff), "man page lacks {roff}");
    }
    for section in [
        "\n.SH OPTIONS",
        "\n.SH \"EXIT STATUS\"",
        "\n.SH ENVIRONMENT",
    ] {
        assert!(r.stdout.contains(section), "imgf.1 lacks {section}");
    }
    assert!(r.stdout.contains("NO_COLOR"));
    assert!(!r.stdout.contains("__docs"));
}

#[test]
fn out_dir_writes_a_page_per_subcommand_nested_ones_too() {
    let (p, dir, names) = write_pages();
    assert_eq!(names, expected_pages());
    // `imgf man` alone prints exactly imgf.1.
    let r = p.run(&["man"]);
    assert_eq!(
        r.stdout,
        std::fs::read_to_string(dir.join("imgf.1")).unwrap()
    );
    for name in &names {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        let title = format!(".TH {} 1", name.trim_end_matches(".1"));
        assert!(page.contains(&title), "{name} lacks {title}");
        for section in [
            "\n.SH NAME",
            "\n.SH SYNOPSIS",
            "\n.SH OPTIONS",
            "\n.SH \"EXIT STATUS\"",
            "\n.SH ENVIRONMENT",
        ] {
            assert_eq!(page.matches(section).count(), 1, "{name}: {section}");
        }
    }
    let check = std::fs::read_to_string(dir.join("imgf-updates-check.1")).unwrap();
    for text in [
        "\\-\\-workspace",
        "GITHUB_TOKEN",
        "problems were found",
        "imgf\\-updates(1)",
    ] {
        assert!(
            check.contains(text),
            "imgf-updates-check.1 lacks {text}:\n{check}"
        );
    }
    let synth = std::fs::read_to_string(dir.join("imgf-synth.1")).unwrap();
    assert!(
        synth.contains("\\-\\-check") && synth.contains("out of date"),
        "{synth}"
    );
    assert!(
        !synth.contains("GITHUB_TOKEN"),
        "synth runs no git:\n{synth}"
    );
}

/// Every page renders with `groff -man -ww` (all warnings) without one.
/// Ignored where groff is not installed (build.rs looks); .ci/run installs
/// it (Debian package groff-base) and runs it with `--include-ignored`.
#[test]
#[cfg_attr(not(has_groff), ignore = "needs groff (Debian package groff-base)")]
fn every_page_renders_with_groff_without_warnings() {
    if !crate::support::tool("groff", "the man pages cannot be rendered") {
        return;
    }
    let (_p, dir, names) = write_pages();
    for name in names {
        let out = std::process::Command::new("groff")
            .args(["-man", "-ww", "-Tutf8", "-P-cbou"])
            .arg(dir.join(&name))
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{name}: groff says:\n{stderr}"
        );
        // -P-cbou: plain text, no escape sequences nor overstriking.
        let plain = String::from_utf8_lossy(&out.stdout);
        for heading in ["NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS", "ENVIRONMENT"] {
            assert!(
                plain.contains(heading),
                "{name} renders without {heading}:\n{plain}"
            );
        }
    }
}
