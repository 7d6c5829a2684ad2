//! The shell script of an emergency rebuild: [`render`] writes, from a
//! [`Plan`], the POSIX sh script that approves and promotes Freight into
//! each affected image's rebuild Stage with `kargo` (looking Freight up with
//! `kubectl`). Pure.
//!
//! The script first does everything that waits for nothing: approving and
//! promoting, into the rebuild Stages of the directly affected images, the
//! newest Freight of the bases the emergency concerns. Each image built on
//! an affected image gets a later step that first waits — polling, with a
//! timeout — until the new build of that base exists and is verified in its
//! analysis Stage, so piped to `sh` it never approves a dependent early. A
//! step that fails or times out is remembered, the steps that need it are
//! skipped, the others still run, and the script exits non-zero at the end.
//! Everything a person typed (the reason, the actor) is on one line in a
//! comment; every name is one single-quoted shell word.

use std::fmt::Write as _;

use super::Plan;
use crate::targets::kargo::image_warehouse_name;

/// The script that carries out `plan`.
pub fn render(plan: &Plan) -> String {
    let mut s = String::new();
    let p = &plan.project;
    let (now, actor, reason) = (&plan.audit.at, &plan.audit.actor, &plan.audit.reason);
    let names = &plan.images;
    let first_wait = plan.steps.iter().position(|s| !s.wait_for.is_empty());
    let gated = first_wait.is_some();
    // Whether some base's newest Freight must have passed its security gate.
    let checked = plan
        .steps
        .iter()
        .any(|s| s.newest_of.iter().any(|b| b.gate.is_some()));
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(s, "# Emergency rebuild, {now}, by {actor}: {reason}");
    let _ = writeln!(s, "# Images, in rebuild order: {}.", names.join(", "));
    let _ = writeln!(
        s,
        "# A manual approval supersedes requiredSoakTime; later updates soak as usual."
    );
    if checked {
        let _ = writeln!(
            s,
            "# A base with security gates gives its newest Freight the gate passed
# (verified in its soak Stage), never a held one; `imgf emergency
# --allow-unverified` takes the newest whatever the gate said."
        );
    }
    if plan.audit.allow_unverified {
        let _ = writeln!(
            s,
            "# --allow-unverified: the newest Freight of each base is taken even if
# the security gate held it (recorded in the audit entry)."
        );
    }
    let _ = writeln!(
        s,
        "#
# Each step approves and promotes Freight into one image's rebuild Stage.
# When a step fails, the script goes on with the steps that do not need it,
# then lists the steps not done and exits non-zero: `sh FILE only N M`
# runs just those, `sh FILE N` runs from step N on."
    );
    if let Some(w) = first_wait {
        let first = if w == 1 {
            "Step 1 waits for nothing and runs first".to_string()
        } else {
            format!("Steps 1 to {w} wait for nothing and run first")
        };
        let _ = writeln!(
            s,
            "#
# {first}. Every later
# step first waits until each new build it needs exists (Freight created
# since {now}) and is verified in that image's analyze-dockerfile Stage: it
# looks every $IMGF_POLL_SECONDS ({POLL_SECONDS}) seconds for at most $IMGF_WAIT_SECONDS
# ({WAIT_SECONDS}) per build; if the build is not there by then, nothing built on
# it is approved. Keep this file to run it again."
        );
    }
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "project={}", sh_word(p));
    let _ = writeln!(
        s,
        r#"usage() {{
  echo "usage: sh FILE [STEP | only STEP...]" >&2
  exit 2
}}
from=1
only=''
case ${{1:-}} in
  only) shift; [ "$#" -gt 0 ] || usage; only=" $* " ;;
  ?*) from=$1; shift; [ "$#" -eq 0 ] || usage ;;
esac
for n in "$from" "$@"; do
  case $n in ''|*[!0-9]*) usage ;; esac
done"#
    );
    if gated {
        let _ = writeln!(s, "since={}", sh_word(now));
        let _ = writeln!(s, "wait_seconds=${{IMGF_WAIT_SECONDS:-{WAIT_SECONDS}}}");
        let _ = writeln!(s, "poll_seconds=${{IMGF_POLL_SECONDS:-{POLL_SECONDS}}}");
    }
    helpers(&mut s, gated, checked);
    // The rebuild Stages the steps promote to (an image without bases has none).
    let mut stages: Vec<String> = Vec::new();
    for stage in plan.steps.iter().filter_map(|step| step.stage.as_ref()) {
        if !stages.contains(stage) {
            stages.push(stage.clone());
        }
    }
    s.push_str(&crate::targets::kargo::security::authorisation_check(
        &stages, sh_word,
    ));

    for step in &plan.steps {
        let (n, image) = (step.step, &step.image);
        let _ = writeln!(s);
        let Some(stage) = &step.stage else {
            let _ = writeln!(
                s,
                "# {n}. {image}: no base images are recorded, so there is no rebuild Stage:\n#    start its build by hand (POST {}, ref {}).",
                step.dispatch_url.as_deref().unwrap_or_default(),
                step.branch
            );
            continue;
        };
        // A step either waits for every base it takes (new builds) or for
        // none (the newest Freight there is).
        let wait = !step.wait_for.is_empty();
        let bases = if wait {
            &step.wait_for
        } else {
            &step.newest_of
        };
        let names: Vec<&str> = bases.iter().map(|b| b.name.as_str()).collect();
        if wait {
            let _ = writeln!(
                s,
                "# {n}. {image}: once the new build of {} is verified in Stage {}",
                names.join(" and of "),
                bases
                    .iter()
                    .filter_map(|b| b.verified_in.as_deref())
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            for b in bases {
                let _ = writeln!(
                    s,
                    "#    (to look: kargo get freight --project {p} --warehouse {})",
                    b.warehouse
                );
            }
        } else {
            let _ = writeln!(
                s,
                "# {n}. {image}: now, from the newest Freight of {}",
                names.join(", ")
            );
        }
        let _ = writeln!(s, "step={n}");
        let _ = writeln!(s, "if runs {n}; then");
        // One AND-list: each command runs only if everything before it
        // succeeded, and any failure ends in `not_done`, never in an exit
        // (an `if`, not `A && B || C`, which shellcheck rightly questions).
        let var = |k: usize| format!("f{}", k + 1);
        let mut list: Vec<String> = Vec::new();
        for (k, b) in bases.iter().enumerate() {
            let warehouse = sh_word(&b.warehouse);
            match (&b.verified_in, &b.gate) {
                (Some(analysis), _) if wait => list.push(format!(
                    "wait_for_verified {warehouse} {} && {}=$found",
                    sh_word(analysis),
                    var(k)
                )),
                (_, Some(soak)) => list.push(format!(
                    "{}=$(latest_passed {warehouse} {})",
                    var(k),
                    sh_word(soak)
                )),
                _ => list.push(format!("{}=$(latest {warehouse})", var(k))),
            }
        }
        for k in 0..bases.len() {
            for verb in ["approve", "promote"] {
                list.push(format!(
                    "kargo {verb} --project \"$project\" --freight \"${}\" --stage {}",
                    var(k),
                    sh_word(stage)
                ));
            }
        }
        let _ = writeln!(s, "  if ! {{\n    {}\n  }}; then", list.join(" &&\n      "));
        let _ = writeln!(
            s,
            "    not_done {}\n  fi",
            sh_word(&image_warehouse_name(image))
        );
        let _ = writeln!(s, "fi");
    }
    let _ = writeln!(
        s,
        r#"
if [ -n "$undone" ]; then
  echo "imgf: steps not done:$undone. Once what they need is there, run just those: sh FILE only$undone" >&2
  exit 1
fi"#
    );
    s
}

/// `s` as one shell word, in single quotes: nothing in it is expanded.
fn sh_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How many seconds the script waits for a base's new build by default.
const WAIT_SECONDS: u32 = 7200;
/// How often it looks, in seconds.
const POLL_SECONDS: u32 = 60;

/// The script's helper functions. `$project`, `$from`, `$only` and (when
/// `gated`) `$since` are set before them; `$step` by each step. `checked`:
/// some base's Freight must have passed its security gate.
fn helpers(p: &mut String, gated: bool, checked: bool) {
    let _ = writeln!(
        p,
        r#"# Whether step $1 is to run: from step $from on, and one of $only when given.
runs() {{
  [ "$1" -ge "$from" ] || return 1
  case $only in
    '' | *" $1 "*) return 0 ;;
    *) return 1 ;;
  esac
}}
# Step $step is not done: remember it, and that no new build of the image
# with Warehouse $1 comes from this run. The script goes on.
undone=''
no_build=' '
not_done() {{
  undone="$undone $step"
  no_build="$no_build$1 "
  echo "imgf: step $step not done; going on with the steps that do not need it" >&2
}}
# The newest Freight from Warehouse $1 created at or after $2 ('' for any), or nothing.
newest() {{
  kubectl -n "$project" get freight.kargo.akuity.io --sort-by=.metadata.creationTimestamp \
    -o "jsonpath={{range .items[?(@.origin.name=='$1')]}}{{.metadata.creationTimestamp}}{{' '}}{{.metadata.name}}{{'\n'}}{{end}}" |
    awk -v since="$2" '$1 >= since {{ f = $2 }} END {{ print f }}'
}}
# The newest Freight from Warehouse $1; fails when there is none.
latest() {{
  f=$(newest "$1" '')
  if [ -z "$f" ]; then
    echo "imgf: step $step: no Freight from Warehouse $1 in project $project" >&2
    return 1
  fi
  echo "$f"
}}"#
    );
    if checked {
        let _ = writeln!(
            p,
            r#"# The newest Freight from Warehouse $1 verified in Stage $2 (it passed the
# security gate there); fails when there is none.
latest_passed() {{
  f=$(kubectl -n "$project" get freight.kargo.akuity.io --sort-by=.metadata.creationTimestamp \
    -o "jsonpath={{range .items[?(@.origin.name=='$1')]}}{{.metadata.name}}{{' '}}{{.status.verifiedIn['$2']}}{{'\n'}}{{end}}" |
    awk 'NF >= 2 {{ f = $1 }} END {{ print f }}')
  if [ -z "$f" ]; then
    echo "imgf: step $step: no Freight from Warehouse $1 has passed the security gate (verified in Stage $2): the newest is held or not yet scanned" >&2
    echo "imgf: to look: kargo get freight --project $project --warehouse $1; to take the newest anyway: imgf emergency ... --allow-unverified" >&2
    return 1
  fi
  echo "$f"
}}"#
        );
    }
    if !gated {
        return;
    }
    let _ = writeln!(
        p,
        r#"# Whether Freight $1 is verified in Stage $2.
verified_in() {{
  [ -n "$(kubectl -n "$project" get freight.kargo.akuity.io "$1" -o "jsonpath={{.status.verifiedIn['$2']}}")" ]
}}
# Waits until Warehouse $1 has Freight created since the emergency and
# verified in Stage $2, and sets $found to it; fails after $wait_seconds, or
# at once when an earlier step of this run means that build will not come.
wait_for_verified() {{
  case $no_build in *" $1 "*)
    echo "imgf: step $step: skipped: no new build of $1 comes from this run (a step it needs was not done)" >&2
    return 1 ;;
  esac
  waited=0
  echo "imgf: step $step: waiting for a new build of $1 verified in Stage $2 (at most ${{wait_seconds}}s)" >&2
  while :; do
    found=$(newest "$1" "$since")
    if [ -n "$found" ] && verified_in "$found" "$2"; then
      return 0
    fi
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "imgf: step $step: no new build of $1 verified in Stage $2 after ${{waited}}s; nothing built on it is approved." >&2
      echo "imgf: to look: kargo get freight --project $project --warehouse $1" >&2
      no_build="$no_build$1 "
      return 1
    fi
    sleep "$poll_seconds"
    waited=$((waited + poll_seconds))
  done
}}"#
    );
}
