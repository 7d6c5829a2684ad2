//! The runbook commands, `imgf explain` and `imgf emergency`, run as a person
//! runs them: the real binary, whole outputs compared with snapshots, and the
//! emergency script run with `sh` against fake `kargo` and `kubectl`.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{Chain, Project, Run, INPUTS, NODE_STATE};

/// An image whose workflow declares its inputs.
fn image(name: &str, extra: &str) -> String {
    crate::support::image(name, &format!("{INPUTS}{extra}"))
}

/// `a` on node:22; `b` on `a`; `c` on `b` and nginx:1; `d` on `a` and
/// node:22; `other` on nginx:1. Listed out of rebuild order (a, b, c, d).
fn chain() -> Project {
    Chain::with_inputs()
        .image("c", "", &["b", "nginx-1"])
        .image("d", "", &["a", "node-22"])
        .image("b", "", &["a"])
        .image("a", "  rebuildDelay: 7d\n", &["node-22"])
        .image("other", "", &["nginx-1"])
        .node()
        .base("nginx-1", "docker.io/library/nginx", "1")
        .build()
}

/// Runs `imgf ARGS…` in the project root with `env` changed (`None`
/// removes a variable).
fn run_env(p: &Project, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut cmd = crate::support::imgf();
    cmd.args(args).current_dir(p.root.path());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let o = cmd.output().expect("run imgf");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Exit code, stdout and stderr as one text for a snapshot, with the
/// current time (in the script and the audit) replaced by `[NOW]`.
fn transcript(r: &Run) -> String {
    let text = format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        r.code, r.stdout, r.stderr
    );
    regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        .unwrap()
        .replace_all(&text, "[NOW]")
        .into_owned()
}

fn state(p: &Project, name: &str) -> String {
    std::fs::read_to_string(p.dir().join(format!("state/images/{name}.yaml"))).unwrap()
}

#[test]
fn explain_an_unknown_image_suggests_the_nearest_names() {
    let p = chain();
    p.images(
        &(std::fs::read_to_string(p.dir().join("images.yaml")).unwrap()
            + &image("web", "")
            + &image("web2", "")
            + &image("worker", "")),
    );
    let r = p.run(&["explain", "webb"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `web` or `web2`?"),
        "{}",
        r.stderr
    );
    insta::assert_snapshot!("explain_unknown", transcript(&r));

    let r = p.run(&["explain", "zzzzzzzz"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("explain_unknown_far", transcript(&r));

    let r = p.run(&["explain", "node-22"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("explain_upstream", transcript(&r));
}

#[test]
fn emergency_with_an_unknown_name_suggests_the_nearest_and_records_nothing() {
    let p = chain();
    let before: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| state(&p, n)).collect();

    let r = p.run(&["emergency", "--image", "bb", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_image", transcript(&r));

    let r = p.run(&["emergency", "--image", "node-22", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("emergency_image_is_upstream", transcript(&r));

    let r = p.run(&["emergency", "--base", "nodd-22", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `node-22`?"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_base", transcript(&r));

    let r = p.run(&["emergency", "--base", "node:23", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `node-22`?"), "{}", r.stderr);
    insta::assert_snapshot!("emergency_unknown_base_reference", transcript(&r));

    let after: Vec<String> = ["a", "b", "c", "d"].iter().map(|n| state(&p, n)).collect();
    assert_eq!(before, after, "a refused emergency records nothing");
}

#[test]
fn explain_lists_dependents_transitively_in_rebuild_order() {
    let p = chain();
    let r = p.run(&["explain", "a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let at = |s: &str| {
        r.stdout
            .find(s)
            .unwrap_or_else(|| panic!("no {s:?} in\n{}", r.stdout))
    };
    assert!(at("    b (on a)") < at("    c (on b)"));
    assert!(at("    c (on b)") < at("    d (on a)"));
    assert!(!r.stdout.contains("other"), "{}", r.stdout);
    insta::assert_snapshot!("explain_dependents", transcript(&r));

    let leaf = p.run(&["explain", "c"]);
    assert_eq!(leaf.code, 0, "{}", leaf.stderr);
    assert!(
        leaf.stdout.contains("  no enrolled image is built on c\n"),
        "{}",
        leaf.stdout
    );
}

/// Nothing recorded about analysis or builds: "analysis: never run", and
/// no "unknown" for what is not recorded.
#[test]
fn explain_says_what_is_recorded_and_nothing_about_what_is_not() {
    let p = chain();
    let r = p.run(&["explain", "b"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("  analysis: never run\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("unknown"), "{}", r.stdout);
    p.file(
        "state/images/b.yaml",
        "name: b\nbaseImages: [a]\ncurrentVersion: 1.2.3\n",
    );
    let r = p.run(&["explain", "b"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("  analysis: never run; last build 1.2.3\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn emergency_base_accepts_an_image_reference() {
    let p = Project::new();
    p.images(&image("web", ""))
        .file(
            "state/images/web.yaml",
            "name: web\nbaseImages: [node-22-bookworm-slim]\n",
        )
        .file(
            "state/base-images/node-22-bookworm-slim.yaml",
            "name: node-22-bookworm-slim\nfullImage: node:22-bookworm-slim\nregistry: docker.io\nrepository: library/node\ntag: 22-bookworm-slim\nrepoURL: docker.io/library/node\n",
        );
    for reference in [
        "node:22-bookworm-slim",
        "docker.io/library/node:22-bookworm-slim",
        "node-22-bookworm-slim",
    ] {
        let r = p.run(&["emergency", "--base", reference, "--reason", "CVE"]);
        assert_eq!(r.code, 0, "{reference}: {}", r.stderr);
        assert!(r.stdout.contains("rebuild-web"), "{}", r.stdout);
        assert!(
            r.stdout.contains("latest 'node-22-bookworm-slim'"),
            "{}",
            r.stdout
        );
    }
    assert_eq!(state(&p, "web").matches("emergency-rebuild").count(), 3);

    // An enrolled image's reference names it (its tag is its build's).
    let r = p.run(&[
        "emergency",
        "--base",
        "ghcr.io/org/web:1.2.3",
        "--reason",
        "CVE",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("nothing is built on `web`"),
        "{}",
        r.stderr
    );

    let r = p.run(&["emergency", "--base", "node:22-bookworm", "--reason", "CVE"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `node-22-bookworm-slim`?"),
        "{}",
        r.stderr
    );
}

/// The actor is `--actor`, else `$USER`, else `$LOGNAME`, else the name of
/// the user id in /etc/passwd, else "unknown".
#[test]
fn emergency_actor_falls_back_to_the_login_name() {
    let recorded = |env: &[(&str, Option<&str>)]| {
        let p = chain();
        let r = run_env(&p, &["emergency", "--image", "c", "--reason", "CVE"], env);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let s = state(&p, "c");
        let line = s
            .lines()
            .find(|l| l.trim_start().starts_with("actor:"))
            .unwrap();
        line.trim_start()["actor:".len()..]
            .trim()
            .trim_matches('\'')
            .to_string()
    };
    assert_eq!(
        recorded(&[("USER", Some("alice")), ("LOGNAME", Some("bob"))]),
        "alice"
    );
    assert_eq!(recorded(&[("USER", None), ("LOGNAME", Some("bob"))]), "bob");
    assert_eq!(
        recorded(&[("USER", Some(" ")), ("LOGNAME", Some("bob"))]),
        "bob"
    );
    let id = Command::new("id").arg("-un").output().unwrap();
    let expected = if id.status.success() {
        String::from_utf8(id.stdout).unwrap().trim().to_string()
    } else {
        "unknown".to_string()
    };
    assert_eq!(recorded(&[("USER", None), ("LOGNAME", None)]), expected);
}

/// A fake `kargo` and `kubectl` first on PATH: both log their argv to
/// `log`. For Warehouse W, kubectl lists one old Freight `W-old` (created
/// long ago, verified everywhere) and — when W is in `$FAKE_PUBLISH` and
/// `rebuild-W` has been promoted — a new one, `W-new`, created after the
/// emergency, verified in `analyze-dockerfile-W` when W is in
/// `$FAKE_VERIFIED`.
struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    fn new() -> Fakes {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = dir.path().join("log");
        std::fs::write(&log, "").unwrap();
        let q = log.display().to_string();
        let deny_kargo = dir.path().join("deny-kargo").display().to_string();
        let kargo = format!(
            "#!/bin/sh\nprintf 'kargo %s\\n' \"$*\" >> '{q}'\ncase \"$*\" in 'get stages '*) [ ! -f '{deny_kargo}' ] || exit 1 ;; esac\n"
        );
        let deny = dir.path().join("deny").display().to_string();
        let kubectl = format!(
            r#"#!/bin/sh
log='{q}'
printf 'kubectl %s\n' "$*" >> "$log"
case "$*" in "auth can-i"*)
  if [ -f '{deny}' ] && grep -qxF "${{5#stages.kargo.akuity.io/}}" '{deny}'; then exit 1; fi
  exit 0 ;;
esac
w=$(printf '%s\n' "$*" | sed -n "s/.*origin\.name=='\([^']*\)'.*/\1/p")
case "$*" in *"verifiedIn['soak-"*)
  # The security gate passed $w-passed and held the newer $w-held.
  echo "$w-passed {{\"verifiedAt\":\"2000-01-01T00:00:00Z\"}}"
  echo "$w-held "
  exit 0 ;;
esac
if [ -n "$w" ]; then
  echo "2000-01-01T00:00:00Z $w-old"
  case " ${{FAKE_PUBLISH:-}} " in *" $w "*)
    if grep -q "^kargo promote .*--stage rebuild-$w\$" "$log"; then
      echo "2999-01-01T00:00:00Z $w-new"
    fi ;;
  esac
  exit 0
fi
case "$*" in *verifiedIn*)
  for a in "$@"; do
    case "$a" in
      *-old) echo '{{"verifiedAt":"2000-01-01T00:00:00Z"}}' ;;
      *-new)
        w=${{a%-new}}
        case "$*" in *"verifiedIn['analyze-dockerfile-$w']"*) ;; *) continue ;; esac
        case " ${{FAKE_VERIFIED:-}} " in *" $w "*) echo '{{"verifiedAt":"2999-01-01T00:00:00Z"}}' ;; esac ;;
    esac
  done ;;
esac
"#
        );
        for (name, text) in [("kargo", kargo), ("kubectl", kubectl)] {
            let path = bin.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fakes { dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap()
    }

    /// The kargo commands the steps ran so far (not the authorisation
    /// check's `kargo get stages`, which [`emergency_script_checks_the_caller_may_promote_first`]
    /// covers).
    fn kargo(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.starts_with("kargo ") && !l.starts_with("kargo get stages "))
            .map(str::to_string)
            .collect()
    }

    fn script(&self) -> PathBuf {
        self.dir.path().join("emergency.sh")
    }

    /// Runs `sh SCRIPT ARGS…` (or pipes the script to `sh` when `pipe`),
    /// waiting at most 2s for a base's build.
    fn sh(&self, args: &[&str], publish: &str, verified: &str, pipe: bool) -> std::process::Output {
        self.sh_env(args, publish, verified, pipe, &[])
    }

    /// [`Fakes::sh`] with `env` set too.
    fn sh_env(
        &self,
        args: &[&str],
        publish: &str,
        verified: &str,
        pipe: bool,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("sh");
        crate::support::no_git_config(&mut cmd)
            .env("PATH", path)
            .env("IMGF_WAIT_SECONDS", "2")
            .env("IMGF_POLL_SECONDS", "1")
            .env("FAKE_PUBLISH", publish)
            .env("FAKE_VERIFIED", verified)
            .envs(env.iter().copied())
            .current_dir(self.dir.path());
        if pipe {
            cmd.stdin(std::fs::File::open(self.script()).unwrap());
        } else {
            cmd.arg(self.script()).args(args);
        }
        cmd.output().unwrap()
    }
}

fn emergency_script(p: &Project, args: &[&str], fakes: &Fakes) {
    let r = p.run(args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(fakes.script(), &r.stdout).unwrap();
}

fn ran_for(kargo: &[String], stage: &str) -> Vec<String> {
    kargo
        .iter()
        .filter(|l| l.ends_with(&format!("--stage {stage}")))
        .cloned()
        .collect()
}

/// The emergency the tests of the emergency script run: `node-22`, on [`chain`].
const EMERGENCY: [&str; 5] = ["emergency", "--base", "node-22", "--reason", "CVE"];

/// What the script runs at once for [`EMERGENCY`]: the images built directly
/// on node:22 — `a`, and `d` (on `a` and node:22) — rebuilt from it.
const REBUILT_FROM_NODE: [&str; 4] = [
    "kargo approve --project image-factory --freight node-22-old --stage rebuild-a",
    "kargo promote --project image-factory --freight node-22-old --stage rebuild-a",
    "kargo approve --project image-factory --freight node-22-old --stage rebuild-d",
    "kargo promote --project image-factory --freight node-22-old --stage rebuild-d",
];

// The script, run by `sh`, approves and promotes an image built on an
// affected image only once that base's new build exists and is verified in
// its analysis Stage; until then it waits, and gives up after the timeout
// (2s here). Images built directly on the base are rebuilt from it first,
// whatever the waits do. One test per case, so the waits run in parallel.

/// No new build of `a` ever appears: it gives up after the wait, and says
/// which steps are not done.
#[test]
fn emergency_script_gives_up_when_no_new_build_of_a_base_appears() {
    let p = chain();
    // No new build of `a` ever appears: piped to sh, `a` and `d` are
    // rebuilt from node:22; `b` waits for `a` and gives up, and `c` (on b)
    // and `d`'s second step (on a) do not wait again for what will not come.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    let o = f.sh(&[], "", "", true);
    assert_eq!(f.kargo(), REBUILT_FROM_NODE, "{}", f.log());
    assert!(!o.status.success(), "gave up");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("no new build of a verified in Stage analyze-dockerfile-a"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("waiting for a new build").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("steps not done: 3 4 5. Once what they need is there, run just those: sh FILE only 3 4 5"),
        "{stderr}"
    );
}

/// Before any step, the script checks that the caller may read the project,
/// list its Freight and promote to every rebuild Stage it will promote to;
/// one "no" refuses the whole run (exit 3) with the role to ask for.
#[test]
fn emergency_script_checks_the_caller_may_promote_first() {
    let p = chain();
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    let o = f.sh(&[], "", "", false);
    let log = f.log();
    let first_step = log.find("get freight").unwrap();
    for check in [
        "kargo get stages --project=image-factory",
        "kubectl auth can-i -q list freights.kargo.akuity.io -n image-factory",
        "kubectl auth can-i -q promote stages.kargo.akuity.io/rebuild-a -n image-factory",
        "kubectl auth can-i -q promote stages.kargo.akuity.io/rebuild-c -n image-factory",
    ] {
        let at = log
            .find(check)
            .unwrap_or_else(|| panic!("no `{check}` in\n{log}"));
        assert!(at < first_step, "{check} after the first step:\n{log}");
    }
    assert!(!o.status.success(), "the cascade waits and gives up here");
    // kubectl's identity is denied one Stage: kargo acts as the Kargo
    // identity, so only a warning, and the steps run.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    std::fs::write(f.dir.path().join("deny"), "rebuild-c\n").unwrap();
    let o = f.sh(&[], "", "", false);
    assert_ne!(o.status.code(), Some(3), "{}", f.log());
    assert_eq!(f.kargo(), REBUILT_FROM_NODE, "{}", f.log());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: kubectl's identity may not promote to Stage rebuild-c in project image-factory")
            && stderr.contains("kargo-promoter")
            && stderr.contains("IMGF_SKIP_AUTH_CHECK=1"),
        "{stderr}"
    );
    // IMGF_SKIP_AUTH_CHECK=1: no per-Stage question at all.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    f.sh_env(&[], "", "", false, &[("IMGF_SKIP_AUTH_CHECK", "1")]);
    assert!(!f.log().contains("can-i -q promote"), "{}", f.log());
    assert_eq!(f.kargo(), REBUILT_FROM_NODE, "{}", f.log());
    // kargo itself cannot read the project: refused, nothing approved.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    std::fs::write(f.dir.path().join("deny-kargo"), "").unwrap();
    let o = f.sh(&[], "", "", false);
    assert_eq!(o.status.code(), Some(3), "{}", f.log());
    assert!(f.kargo().is_empty(), "{}", f.log());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("kargo cannot read project image-factory"),
        "{}",
        f.log()
    );
}

/// A new build appears but is not verified yet: the same.
#[test]
fn emergency_script_never_approves_a_dependent_before_its_base_build_is_verified() {
    let p = chain();
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    let o = f.sh(&[], "a", "", false);
    assert!(!o.status.success());
    assert!(
        f.log().contains("a-new"),
        "the new build was seen:\n{}",
        f.log()
    );
    assert_eq!(f.kargo(), REBUILT_FROM_NODE, "{}", f.log());
}

/// A new build of `a` is verified, `b`'s never appears; then just the steps
/// not done run, without repeating the others, and `sh FILE N` runs from N on.
#[test]
fn emergency_script_reruns_only_the_steps_not_done() {
    let p = chain();
    // `a`'s new build is verified, `b`'s never appears: `b` and `d` are
    // rebuilt from it, `c` (on b) is not; running just the step not done
    // approves it without repeating the others.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    let o = f.sh(&[], "a", "a", false);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("sh FILE only 4\n"), "{stderr}");
    let k = f.kargo();
    assert_eq!(
        ran_for(&k, "rebuild-b"),
        [
            "kargo approve --project image-factory --freight a-new --stage rebuild-b",
            "kargo promote --project image-factory --freight a-new --stage rebuild-b",
        ],
        "{}",
        f.log()
    );
    assert!(ran_for(&k, "rebuild-c").is_empty(), "{}", f.log());
    assert_eq!(
        ran_for(&k, "rebuild-d"),
        [
            "kargo approve --project image-factory --freight node-22-old --stage rebuild-d",
            "kargo promote --project image-factory --freight node-22-old --stage rebuild-d",
            "kargo approve --project image-factory --freight a-new --stage rebuild-d",
            "kargo promote --project image-factory --freight a-new --stage rebuild-d",
        ],
        "{}",
        f.log()
    );
    let o = f.sh(&["only", "4"], "a b", "a b", false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let k2 = f.kargo();
    assert_eq!(&k2[..k.len()], &k[..]);
    assert_eq!(
        &k2[k.len()..],
        [
            "kargo approve --project image-factory --freight b-new --stage rebuild-c",
            "kargo promote --project image-factory --freight b-new --stage rebuild-c",
        ]
    );
    // `sh FILE N` still runs from step N on.
    let o = f.sh(&["5"], "a b", "a b", false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        &f.kargo()[k2.len()..],
        [
            "kargo approve --project image-factory --freight a-new --stage rebuild-d",
            "kargo promote --project image-factory --freight a-new --stage rebuild-d",
        ]
    );
}

/// Every build appears and is verified: the whole cascade.
#[test]
fn emergency_script_runs_the_whole_cascade_once_every_build_is_verified() {
    let p = chain();
    // Every build appears and is verified: the whole cascade, the images
    // built on node:22 first.
    let f = Fakes::new();
    emergency_script(&p, &EMERGENCY, &f);
    let o = f.sh(&[], "a b", "a b", true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let kargo = f.kargo();
    let stages: Vec<&str> = kargo
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "rebuild-a",
            "rebuild-a",
            "rebuild-d",
            "rebuild-d",
            "rebuild-b",
            "rebuild-b",
            "rebuild-c",
            "rebuild-c",
            "rebuild-d",
            "rebuild-d"
        ]
    );
    assert!(kargo[6].contains("--freight b-new"), "{}", f.log());
    assert!(kargo[8].contains("--freight a-new"), "{}", f.log());
}

/// Bad arguments are refused (exit 2) before anything runs.
#[test]
fn emergency_script_refuses_bad_arguments_before_running_anything() {
    let p = chain();
    for bad in [&["x"][..], &["3", "4"], &["only"], &["only", "3", "x"]] {
        let f = Fakes::new();
        emergency_script(&p, &EMERGENCY, &f);
        let o = f.sh(bad, "", "", false);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(f.log().is_empty(), "{bad:?}: {}", f.log());
    }
}

/// node:22 ← `a` ← `b`, and node:22 ← `c` (← `e` with `with_e`), listed so
/// that dependency order alone would put `b`'s wait before `c`'s rebuild.
fn cascade(with_e: bool) -> Project {
    let c = Chain::new()
        .image("a", "", &["node-22"])
        .image("b", "", &["a"])
        .image("c", "", &["node-22"]);
    let c = if with_e { c.image("e", "", &["c"]) } else { c };
    c.node().build()
}

/// In the script and in the JSON plan, every step that waits for nothing
/// comes before any step that waits for another build.
#[test]
fn emergency_steps_that_wait_for_nothing_come_first() {
    let p = cascade(false);
    let args = ["emergency", "--base", "node-22", "--reason", "CVE"];
    let r = p.run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["images"], serde_json::json!(["a", "b", "c"]));
    let steps = v["steps"].as_array().unwrap();
    let row = |s: &serde_json::Value| {
        (
            s["step"].as_u64().unwrap(),
            s["image"].as_str().unwrap().to_string(),
            s["waitFor"].as_array().unwrap().len(),
        )
    };
    assert_eq!(
        steps.iter().map(row).collect::<Vec<_>>(),
        [(1, "a".into(), 0), (2, "c".into(), 0), (3, "b".into(), 1)]
    );
    let first_wait = steps
        .iter()
        .position(|s| !s["waitFor"].as_array().unwrap().is_empty())
        .unwrap();
    assert!(steps[first_wait..]
        .iter()
        .all(|s| !s["waitFor"].as_array().unwrap().is_empty()));

    // The script (the text form, and the one in the plan): the same steps
    // in the same order, every rebuild from node:22 written before the
    // first wait.
    let r = p.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for script in [r.stdout.as_str(), v["script"].as_str().unwrap()] {
        let at = |needle: &str| {
            script
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in\n{script}"))
        };
        let wait = at("  wait_for_verified ");
        assert!(at("# 1. a: now") < at("# 2. c: now"), "{script}");
        assert!(at("# 2. c: now") < at("# 3. b: once"), "{script}");
        assert!(at("--stage 'rebuild-a'") < wait, "{script}");
        assert!(at("--stage 'rebuild-c'") < wait, "{script}");
        assert_eq!(script.matches("wait_for_verified '").count(), 1, "{script}");
    }
}

/// Run with fake tools: `a`'s new build never comes, so the wait for it
/// fails; `a` and `c`, built on node:22, were both rebuilt before any wait
/// began, and `e`'s wait for `c`'s new build, independent of it, still runs.
#[test]
fn emergency_script_rebuilds_the_direct_images_whatever_the_waits_do() {
    let p = cascade(true);
    let f = Fakes::new();
    emergency_script(
        &p,
        &["emergency", "--base", "node-22", "--reason", "CVE"],
        &f,
    );
    let o = f.sh(&[], "c", "c", false);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        f.kargo(),
        [
            "kargo approve --project image-factory --freight node-22-old --stage rebuild-a",
            "kargo promote --project image-factory --freight node-22-old --stage rebuild-a",
            "kargo approve --project image-factory --freight node-22-old --stage rebuild-c",
            "kargo promote --project image-factory --freight node-22-old --stage rebuild-c",
            "kargo approve --project image-factory --freight c-new --stage rebuild-e",
            "kargo promote --project image-factory --freight c-new --stage rebuild-e",
        ],
        "{}",
        f.log()
    );
    // Both direct rebuilds were dispatched before the first look for a new
    // build (a Freight list with a `since`, i.e. not a `latest`).
    let log = f.log();
    let lines: Vec<&str> = log.lines().collect();
    let first_wait = lines
        .iter()
        .position(|l| l.contains("origin.name=='a'") || l.contains("origin.name=='c'"))
        .unwrap();
    let last_direct = lines
        .iter()
        .rposition(|l| l.ends_with("--stage rebuild-a") || l.ends_with("--stage rebuild-c"))
        .unwrap();
    assert!(last_direct < first_wait, "{log}");
    assert!(
        stderr.contains("no new build of a verified in Stage analyze-dockerfile-a"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "steps not done: 3. Once what they need is there, run just those: sh FILE only 3\n"
        ),
        "{stderr}"
    );

    // Once `a`'s build is verified, the step not done, alone.
    let before = f.kargo().len();
    let o = f.sh(&["only", "3"], "a c", "a c", false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        &f.kargo()[before..],
        [
            "kargo approve --project image-factory --freight a-new --stage rebuild-b",
            "kargo promote --project image-factory --freight a-new --stage rebuild-b",
        ]
    );
}

/// A step that fails by itself (here: `kargo approve` for `a`) does not stop
/// the others either: what waits for `a`'s new build is skipped, the script
/// reports both and exits non-zero.
#[test]
fn emergency_script_goes_on_after_a_failed_step() {
    let p = cascade(false);
    let f = Fakes::new();
    emergency_script(
        &p,
        &["emergency", "--base", "node-22", "--reason", "CVE"],
        &f,
    );
    // The fake kargo fails to approve anything for rebuild-a.
    let kargo = f.dir.path().join("bin/kargo");
    let text = std::fs::read_to_string(&kargo).unwrap();
    std::fs::write(
        &kargo,
        text + "case \"$*\" in *'approve '*'--stage rebuild-a') exit 1 ;; esac\n",
    )
    .unwrap();
    let o = f.sh(&[], "a c", "a c", false);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(
        f.kargo(),
        [
            "kargo approve --project image-factory --freight node-22-old --stage rebuild-a",
            "kargo approve --project image-factory --freight node-22-old --stage rebuild-c",
            "kargo promote --project image-factory --freight node-22-old --stage rebuild-c",
        ],
        "{}",
        f.log()
    );
    assert!(
        stderr.contains("imgf: step 3: skipped: no new build of a comes from this run"),
        "{stderr}"
    );
    assert!(stderr.contains("sh FILE only 1 3\n"), "{stderr}");
}

/// Each base the emergency concerns is approved *and* promoted: `c`, built
/// on `b` and nginx:1, is rebuilt from the newest Freight of both.
#[test]
fn emergency_promotes_every_base_of_an_image() {
    let p = chain();
    let f = Fakes::new();
    emergency_script(&p, &["emergency", "--image", "c", "--reason", "CVE"], &f);
    let o = f.sh(&[], "", "", true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        f.kargo(),
        [
            "kargo approve --project image-factory --freight b-old --stage rebuild-c",
            "kargo promote --project image-factory --freight b-old --stage rebuild-c",
            "kargo approve --project image-factory --freight nginx-1-old --stage rebuild-c",
            "kargo promote --project image-factory --freight nginx-1-old --stage rebuild-c",
        ],
        "{}",
        f.log()
    );
}

/// An image with no recorded base has no rebuild Stage: the script says to
/// start its build by hand, and what is built on it still waits for it.
#[test]
fn emergency_of_an_image_without_bases_says_to_build_it_by_hand() {
    let p = Project::new();
    p.images(&(image("x", "") + &image("y", "")))
        .file("state/images/y.yaml", "name: y\nbaseImages: [x]\n");
    let r = p.run(&["emergency", "--image", "x", "--reason", "CVE"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "# 1. x: no base images are recorded, so there is no rebuild Stage:\n#    start its build by hand (POST https://api.github.com/repos/org/x/actions/workflows/build.yml/dispatches, ref main).\n\n# 2. y:"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("'rebuild-x'"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("  wait_for_verified 'x' 'analyze-dockerfile-x' && f1=$found &&\n"),
        "{}",
        r.stdout
    );
}

/// One whole emergency script: `--base` by reference, a cascade of three
/// gated steps, one of them also built on the base itself.
#[test]
fn emergency_script_snapshot() {
    let p = chain();
    let r = p.run(&[
        "emergency",
        "--base",
        "node:22",
        "--reason",
        "CVE-2026-0001 in libssl",
        "--actor",
        "alice",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("emergency_script", transcript(&r));
}

/// The emergency script passes shellcheck (every severity), with wait steps
/// and without. Ignored where shellcheck is not installed
/// (build.rs looks); CI installs it and runs it with `--include-ignored`.
#[test]
#[cfg_attr(
    not(has_shellcheck),
    ignore = "needs shellcheck (Debian package shellcheck)"
)]
fn emergency_script_passes_shellcheck() {
    if !crate::support::tool("shellcheck", "the emergency script cannot be checked") {
        return;
    }
    let p = chain();
    for (what, base, waits) in [
        ("with waits", "node:22", true),
        ("without waits", "nginx-1", false),
    ] {
        let r = p.run(&[
            "emergency",
            "--base",
            base,
            "--reason",
            "CVE",
            "--actor",
            "alice",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            r.stdout.contains("wait_for_verified '"),
            waits,
            "{what}:\n{}",
            r.stdout
        );
        let file = p.path(&format!("emergency-{base}.sh"));
        std::fs::write(&file, &r.stdout).unwrap();
        let out = std::process::Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{what}: shellcheck:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            r.stdout
        );
    }
}

/// With security gates, a base's Freight taken at once is the newest the
/// gate passed (verified in its soak Stage), never a newer held one; with
/// `--allow-unverified`, the newest whatever the gate said, and the audit
/// entry says so.
#[test]
fn emergency_script_takes_only_freight_the_security_gate_passed() {
    let p = chain();
    p.file(
        "settings.yaml",
        "analysis:\n  image: ghcr.io/org/imgf:1.0.0\n  stateRepoURL: https://github.com/org/state.git\nsecurity:\n  scanner: {image: aquasec/trivy:0.58.1, failOn: CRITICAL}\n",
    );
    let args = ["emergency", "--base", "nginx-1", "--reason", "CVE"];
    let f = Fakes::new();
    emergency_script(&p, &args, &f);
    let script = std::fs::read_to_string(f.script()).unwrap();
    assert!(
        script.contains("f1=$(latest_passed 'nginx-1' 'soak-nginx-1')"),
        "{script}"
    );
    if cfg!(has_shellcheck) {
        let out = Command::new("shellcheck")
            .args(["--shell=sh", "--severity=style"])
            .arg(f.script())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "shellcheck:\n{}\n{script}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let o = f.sh(&[], "", "", false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let approved: Vec<String> = f
        .kargo()
        .into_iter()
        .filter(|l| l.starts_with("kargo approve"))
        .collect();
    assert_eq!(
        approved,
        [
            "kargo approve --project image-factory --freight nginx-1-passed --stage rebuild-c",
            "kargo approve --project image-factory --freight nginx-1-passed --stage rebuild-other",
        ],
        "{}",
        f.log()
    );
    let state = std::fs::read_to_string(p.dir().join("state/images/other.yaml")).unwrap();
    assert!(!state.contains("allowUnverified"), "{state}");

    let f = Fakes::new();
    emergency_script(&p, &[&args[..], &["--allow-unverified"]].concat(), &f);
    let script = std::fs::read_to_string(f.script()).unwrap();
    assert!(!script.contains("latest_passed"), "{script}");
    assert!(script.contains("# --allow-unverified: "), "{script}");
    let o = f.sh(&[], "", "", false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        f.kargo().iter().all(|l| !l.contains("-passed")),
        "{}",
        f.log()
    );
    let state = std::fs::read_to_string(p.dir().join("state/images/other.yaml")).unwrap();
    assert!(state.contains("allowUnverified: true"), "{state}");
}

/// The reason and the actor are text a person typed; names come from files.
/// None of them can run a command or leave the comment or word they are in.
#[test]
fn emergency_script_is_injection_safe() {
    let p = chain();
    let f = Fakes::new();
    let reason = "CVE $(touch pwned1) `touch pwned2` '; touch pwned3 #\n touch pwned4\r\u{2028}touch pwned5 \\";
    emergency_script(
        &p,
        &[
            "emergency",
            "--base",
            "node-22",
            "--reason",
            reason,
            "--actor",
            "eve'\n touch pwned6",
        ],
        &f,
    );
    let script = std::fs::read_to_string(f.script()).unwrap();
    for line in script.lines() {
        // Commands are chained with `&&` and `||` at the line's end.
        let line = line.trim_end_matches(" &&").trim_end_matches(" ||");
        if line.contains("pwned") {
            assert!(line.starts_with("# "), "{line:?} in\n{script}");
        }
        if let Some((_, rest)) = line.split_once("--stage ") {
            assert!(
                rest.starts_with('\'') && rest.ends_with('\''),
                "the Stage is a quoted word: {line:?}"
            );
        }
        if let Some((_, rest)) = line.split_once("--freight ") {
            assert!(
                rest.starts_with("\"$"),
                "the Freight is a quoted word: {line:?}"
            );
        }
    }
    assert!(script.contains("project='image-factory'\n"), "{script}");
    let o = f.sh(&[], "a b", "a b", true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for n in 1..=6 {
        assert!(!f.dir.path().join(format!("pwned{n}")).exists(), "pwned{n}");
        assert!(
            !p.root.path().join(format!("pwned{n}")).exists(),
            "pwned{n}"
        );
    }
}

/// images.yaml `updates:` for `name`: `staging` straight from its builds,
/// `prod` after staging with a 24h soak.
fn staged(name: &str) -> String {
    image(
        name,
        &format!(
            "  updates:
    - name: staging
      repo: org/deploy
      path: apps/{name}/staging
      type: kustomize-set-image
    - name: prod
      repo: org/deploy
      path: apps/{name}/prod
      type: kustomize-set-image
      after: staging
      soak: 24h
"
        ),
    )
}

/// An image state whose `buildHistory` has a build every `hours`, five in
/// all.
fn built_every(name: &str, hours: u32) -> String {
    let last = 4 * hours;
    let mut s = format!(
        "name: {name}\nbaseImages: [node-22]\ncurrentVersion: '1.0.4'\nlastBuilt: '2026-03-{:02}T{:02}:00:00Z'\nbuildHistory:\n",
        1 + last / 24,
        last % 24
    );
    for i in 0..5 {
        let h = i * hours;
        let _ = write!(
            s,
            "  - at: '2026-03-{:02}T{:02}:00:00Z'\n    tag: '1.0.{i}'\n",
            1 + h / 24,
            h % 24
        );
    }
    s
}

#[test]
fn explain_warns_when_builds_outpace_an_after_soak() {
    let p = Project::new();
    p.images(&(staged("fast") + &staged("slow") + &staged("unknown")))
        .file("state/images/fast.yaml", &built_every("fast", 12))
        .file("state/images/slow.yaml", &built_every("slow", 72))
        .file(
            "state/images/unknown.yaml",
            "name: unknown\nbaseImages: [node-22]\nlastBuilt: '2026-03-01T00:00:00Z'\n",
        )
        .file("state/base-images/node-22.yaml", NODE_STATE);

    let fast = p.run(&["explain", "fast"]);
    assert_eq!(fast.code, 0, "{}", fast.stderr);
    assert!(
        fast.stdout.contains(
            "warning: fast has been built about every 12h recently, more often than this soak (1d)"
        ),
        "{}",
        fast.stdout
    );
    insta::assert_snapshot!("explain_soak_starvation", transcript(&fast));

    let slow = p.run(&["explain", "slow"]);
    assert_eq!(slow.code, 0, "{}", slow.stderr);
    assert!(
        slow.stdout
            .contains("builds: about every 3d recently (5 recorded)"),
        "{}",
        slow.stdout
    );
    assert!(!slow.stdout.contains("warning"), "{}", slow.stdout);
    // No history: it cannot tell, so it says nothing.
    let unknown = p.run(&["explain", "unknown"]);
    assert!(!unknown.stdout.contains("warning"), "{}", unknown.stdout);
    assert!(!unknown.stdout.contains("builds:"), "{}", unknown.stdout);

    let json = |name: &str| -> serde_json::Value {
        let r = p.run(&["explain", name, "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let fast = json("fast");
    assert_eq!(fast["state"]["buildIntervalSeconds"], 12 * 3600);
    assert_eq!(fast["updates"][0]["warnings"], serde_json::json!([]));
    let w = fast["updates"][1]["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("warning: fast has been built about every 12h recently")
            && w.contains("--stage update-fast-prod")
            && !w.contains('\n')
            && !w.contains("  "),
        "{w}"
    );
    let slow = json("slow");
    assert_eq!(slow["state"]["buildIntervalSeconds"], 72 * 3600);
    assert_eq!(slow["updates"][1]["warnings"], serde_json::json!([]));
    let unknown = json("unknown");
    assert_eq!(
        unknown["state"]["buildIntervalSeconds"],
        serde_json::Value::Null
    );
    assert_eq!(unknown["updates"][1]["warnings"], serde_json::json!([]));
}
