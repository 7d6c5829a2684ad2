//! Install and integrate: shell completions, the man page, and the files a
//! user's tooling reads (pre-commit hooks, README).

use clap::CommandFactory;

use crate::support::Project;

/// Every subcommand name, from the clap definitions the binary uses.
fn subcommands() -> Vec<String> {
    let names: Vec<String> = imgf::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    // A floor, so the test cannot pass on an empty list.
    for must in [
        "synth",
        "analyze",
        "record-update",
        "updates",
        "completions",
        "man",
    ] {
        assert!(
            names.iter().any(|n| n == must),
            "{must} missing from {names:?}"
        );
    }
    names
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = p.run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{shell}: {}", r.stderr);
        for sub in subcommands() {
            assert!(r.stdout.contains(&sub), "{shell} script lacks {sub}");
        }
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let r = Project::new().run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("bash"), "{}", r.stderr);
}

#[test]
fn man_page_is_roff_and_lists_the_subcommands() {
    let r = Project::new().run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // clap_mangen opens with two lines defining the \*(Aq string; the title
    // line comes before any section.
    let th = r.stdout.find("\n.TH imgf 1").expect("a .TH line");
    let sh = r.stdout.find("\n.SH NAME").expect("a NAME section");
    assert!(th < sh);
    assert!(r.stdout.contains("\n.SH SUBCOMMANDS"));
    for sub in subcommands() {
        // roff escapes '-' as '\-'.
        let roff = format!("imgf\\-{}", sub.replace('-', "\\-"));
        assert!(r.stdout.contains(&roff), "man page lacks {roff}");
    }
}
