//! `--color`, NO_COLOR, and the source snippet under errors: the tests run
//! the binary with pipes, so `auto` never colours here.

use crate::support::Project;

/// An images.yaml with one bad value, on line 4.
const BAD_DELAY: &str = "\
- name: app
  registry: ghcr.io
  repository: org/app
  rebuildDelay: 7x
";

fn bad() -> Project {
    let p = Project::new();
    p.images(BAD_DELAY);
    p
}

#[test]
fn an_error_shows_its_source_line_with_a_caret() {
    let r = bad().run(&["synth", "--output", "-"]);
    insta::assert_snapshot!(
        "error_with_snippet",
        format!(
            "exit {}\n----- stdout -----\n{}----- stderr -----\n{}",
            r.code, r.stdout, r.stderr
        )
    );
}

#[test]
fn color_always_colours_errors_even_with_no_color() {
    for env in [&[][..], &[("NO_COLOR", "1")][..]] {
        let r = bad().run_env(&["synth", "--color", "always", "--output", "-"], env);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("\x1b[1m\x1b[31merror:\x1b[0m"),
            "{:?}",
            r.stderr
        );
        assert!(r.stderr.contains("\x1b[1m\x1b[34m-->"), "{:?}", r.stderr);
    }
    // The global flag is accepted before the subcommand too.
    let r = bad().run(&["--color=always", "synth", "--output", "-"]);
    assert!(r.stderr.contains('\x1b'), "{:?}", r.stderr);
}

#[test]
fn no_colour_with_never_no_color_or_a_pipe() {
    let plain = bad().run(&["synth", "--output", "-"]);
    assert!(plain.stderr.contains("^^"), "{}", plain.stderr);
    for (args, env) in [
        (&["synth", "--color", "never"][..], &[][..]),
        (
            &["synth", "--color", "never"][..],
            &[("CLICOLOR_FORCE", "1")][..],
        ),
        (&["synth", "--color", "auto"][..], &[("NO_COLOR", "1")][..]),
        (&["synth"][..], &[][..]),
    ] {
        let r = bad().run_env(&[args, &["--output", "-"]].concat(), env);
        assert_eq!(r.code, 2);
        assert!(
            !r.stderr.contains('\x1b'),
            "{args:?} {env:?}: {:?}",
            r.stderr
        );
        assert_eq!(r.stderr, plain.stderr);
    }
    // CLICOLOR_FORCE colours a pipe under `auto`, unless NO_COLOR says no.
    let r = bad().run_env(&["synth", "--output", "-"], &[("CLICOLOR_FORCE", "1")]);
    assert!(r.stderr.contains('\x1b'), "{:?}", r.stderr);
    let r = bad().run_env(
        &["synth", "--output", "-"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
}

#[test]
fn help_is_coloured_only_when_asked() {
    let p = Project::new();
    let plain = p.run(&["--help"]);
    assert_eq!(plain.code, 0);
    assert!(!plain.stdout.contains('\x1b'));
    assert!(plain.stdout.contains("--color <WHEN>"), "{}", plain.stdout);
    let coloured = p.run(&["--color", "always", "--help"]);
    assert!(coloured.stdout.contains("\x1b["), "{:?}", coloured.stdout);
    // A usage error too, on stderr.
    let r = p.run(&["--color", "always", "synth", "--nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("\x1b["), "{:?}", r.stderr);
    let r = p.run(&["synth", "--nope"]);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    let r = p.run(&["--color", "sometimes", "synth"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sometimes"), "{}", r.stderr);
}

#[test]
fn json_errors_keep_their_shape() {
    let p = bad();
    let r = p.run(&["explain", "app", "--format", "json", "--color", "always"]);
    assert_eq!(r.code, 2);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let e = &v["errors"][0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["severity", "message", "file", "line", "column", "help"]
    );
    assert_eq!(e["line"], 4);
    assert!(!r.stdout.contains('\x1b'));
}

#[test]
fn analyze_shows_no_progress_on_a_pipe() {
    let p = Project::app_on_node();
    p.file("../docker/Dockerfile", "FROM node:22\n");
    let r = p.run(&["analyze"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("analyzing"), "{:?}", r.stderr);
    assert!(
        !r.stderr.contains('\r') && !r.stderr.contains('\x1b'),
        "{:?}",
        r.stderr
    );
}

#[test]
fn analyze_shows_progress_when_stderr_is_a_terminal() {
    use clap::Parser;
    let p = Project::app_on_node();
    p.file("../docker/Dockerfile", "FROM node:22\n");
    let dir = p.dir();
    let args = ["imgf", "analyze", "--dir", dir.to_str().unwrap()];
    let run = |ui: imgf::Ui, json: bool| {
        let mut args = args.to_vec();
        if json {
            args.extend(["--format", "json"]);
        }
        let cli = imgf::cli::Cli::try_parse_from(args).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        imgf::run_with(cli, ui, &mut out, &mut err).unwrap();
        String::from_utf8(err).unwrap()
    };
    // As if stderr were a terminal: the line is drawn, then cleared.
    let terminal = imgf::Ui {
        colour: false,
        progress: true,
        stdout_discarded: false,
    };
    let err = run(terminal, false);
    let drawn = err
        .find("\r\x1b[2K analyzing 1/1: app")
        .unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        err[drawn + 1..].contains("\r\x1b[2K"),
        "cleared afterwards: {err:?}"
    );
    // Not with --format json, nor when stderr is not a terminal.
    assert!(!run(terminal, true).contains("analyzing"));
    assert!(!run(imgf::Ui::default(), false).contains("analyzing"));
}
