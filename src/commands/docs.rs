//! `imgf __docs` (hidden, for imgf's developers): the user guide's reference
//! pages, generated so they cannot drift from what imgf does —
//! `commands.md` and a page per subcommand from the clap definitions,
//! `images-yaml.md` and `settings.md` from the JSON Schemas `imgf schema`
//! prints, `json-output.md` from the types the `--format json` outputs are
//! serialized from ([`REPORTS`]), `exit-codes.md` and `environment.md` from
//! [`super::reference`]. A test runs `imgf __docs --check` on the committed
//! pages; `imgf __docs --out-dir docs/src/reference` rewrites them.

use std::fmt::Write as _;

use serde_json::Value;

use super::reference::{self, pages};
use crate::cli::DocsArgs;
use crate::diagnostic::Error;
use crate::ExitStatus;

/// How to regenerate the pages, as the `--check` message and each page's
/// header say.
pub(crate) const REGENERATE: &str = "cargo run -- __docs --out-dir docs/src/reference";

/// A JSON output shape: which command writes it, and the type it is
/// serialized from. One row per report; `json-output.md` lists them in this
/// order.
pub(crate) struct Report {
    /// The page's heading for it.
    pub title: &'static str,
    /// Which commands write it, and when.
    pub written_by: &'static str,
    /// The JSON Schema of the type serialized.
    pub schema: fn() -> schemars::Schema,
}

pub(crate) const REPORTS: &[Report] = &[
    Report {
        title: "imgf explain",
        written_by: "`imgf explain IMAGE --format json`: how the image is rebuilt, what it waits for, where it is deployed.",
        schema: output_schema::<crate::ops::explain::Explain>,
    },
    Report {
        title: "imgf emergency",
        written_by: "`imgf emergency --format json`: the plan (images, steps, audit entry) and its script.",
        schema: output_schema::<crate::ops::emergency::Emergency>,
    },
    Report {
        title: "imgf status",
        written_by: "`imgf status --format json`: what is stale and why, per image and base image.",
        schema: output_schema::<crate::ops::status::Status>,
    },
    Report {
        title: "imgf updates check",
        written_by: "`imgf updates check --format json`: every update target (and Argo CD Application) checked, with its problems; written on success and on problems alike.",
        schema: output_schema::<crate::ops::updates_check::Report>,
    },
    Report {
        title: "imgf graph",
        written_by: "`imgf graph --format json`: nodes, edges, the rebuild order and any cycles.",
        schema: output_schema::<crate::ops::graph::Report>,
    },
    Report {
        title: "imgf analyze",
        written_by: "`imgf analyze --format json`: what analysis found and wrote, with the errors of a failed run in `errors`.",
        schema: output_schema::<crate::ops::discovery::Report>,
    },
    Report {
        title: "Errors",
        written_by: "Every command given `--format json` (`explain`, `analyze`, `emergency`, `status`, `updates check`, `inspect`, `graph`), on failure: on stdout, while stderr has the same errors as text and the exit status is unchanged.",
        schema: output_schema::<crate::diagnostic::ErrorsJson>,
    },
];

/// The JSON Schema of what `T` serializes to (every field it always
/// writes is required; one that may be unknown is nullable).
pub(crate) fn output_schema<T: schemars::JsonSchema>() -> schemars::Schema {
    schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

pub(crate) fn run(
    args: &DocsArgs,
    shell: &mut crate::shell::Shell<'_>,
) -> Result<ExitStatus, Error> {
    let pages = generate();
    let dir = &args.out_dir;
    // Pages of commands that no longer exist.
    let obsolete: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut v: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("imgf-") && n.ends_with(".md"))
                .filter(|n| !pages.iter().any(|(p, _)| p == n))
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    };
    if args.check {
        let mut stale = 0;
        for (name, text) in &pages {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(t) if t == *text => {}
                Ok(_) => {
                    stale += 1;
                    shell.status(&format!("{} is out of date", path.display()))?;
                }
                Err(_) => {
                    stale += 1;
                    shell.status(&format!("{} is missing", path.display()))?;
                }
            }
        }
        for name in &obsolete {
            stale += 1;
            shell.status(&format!(
                "{} documents no command imgf has; remove it",
                dir.join(name).display()
            ))?;
        }
        if stale > 0 {
            shell.status(&format!("regenerate the reference pages: {REGENERATE}"))?;
            return Ok(ExitStatus::Drift);
        }
        return Ok(ExitStatus::Success);
    }
    for (name, text) in &pages {
        crate::fs::write_atomic(&dir.join(name), text.as_bytes())?;
    }
    for name in &obsolete {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
    }
    shell.status(&format!("wrote {} pages to {}", pages.len(), dir.display()))?;
    Ok(ExitStatus::Success)
}

/// Every page: (file name, Markdown).
pub(crate) fn generate() -> Vec<(String, String)> {
    let cmd = reference::command();
    let mut out = Vec::new();
    for (path, c) in pages(&cmd) {
        out.push((page_file(&path), command_page(&path, c)));
    }
    out.push((
        "images-yaml.md".into(),
        schema_page(
            "images.yaml",
            "The list of images imgf manages, in `DIR/images.yaml` (`--dir`, default \
             `image-factory`). Unknown keys are refused. Editors can check the file with \
             the JSON Schema `imgf schema images` prints, from the same types.",
            &[(
                "The file",
                "",
                serde_json::to_value(schemars::schema_for!(
                    Vec<crate::config::enrollment::Enrollment>
                ))
                .expect("a schema is JSON"),
            )],
            Kind::Input,
        ),
    ));
    out.push((
        "settings.md".into(),
        schema_page(
            "settings.yaml",
            "Optional settings, in `DIR/settings.yaml` or the file given by `--settings`; every \
             key is optional. Unknown keys are refused. `imgf schema settings` prints the JSON \
             Schema, from the same types.",
            &[(
                "The file",
                "",
                serde_json::to_value(schemars::schema_for!(crate::config::settings::SettingsFile))
                    .expect("a schema is JSON"),
            )],
            Kind::Input,
        ),
    ));
    let reports: Vec<(&str, &str, Value)> = REPORTS
        .iter()
        .map(|r| {
            (
                r.title,
                r.written_by,
                serde_json::to_value((r.schema)()).expect("a schema is JSON"),
            )
        })
        .collect();
    out.push((
        "json-output.md".into(),
        schema_page(
            "JSON output",
            "With `--format json`, commands write one JSON document on stdout, in the shapes \
             below. Fields are only ever added, never renamed or removed; a field whose value \
             is unknown is `null`.",
            &reports,
            Kind::Output,
        ),
    ));
    out.push(("exit-codes.md".into(), exit_codes_page(&cmd)));
    out.push(("environment.md".into(), environment_page(&cmd)));
    out
}

fn header() -> String {
    format!("<!-- Generated by `{REGENERATE}`; do not edit. -->\n\n")
}

/// `commands.md` for `imgf` itself, else `imgf-updates-check.md`.
fn page_file(path: &[String]) -> String {
    if path.is_empty() {
        "commands.md".into()
    } else {
        format!("imgf-{}.md", path.join("-"))
    }
}

/// Text (a doc comment, as clap or schemars give it) with its lines joined
/// into paragraphs.
fn prose(s: &str) -> String {
    s.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// [`prose`] of a clap help or about, which loses the final full stop of
/// a one-paragraph doc comment: given back.
fn sentence(s: &str) -> String {
    let mut p = prose(s);
    if !p.is_empty() && !p.ends_with(['.', '!', '?', ':']) {
        p.push('.');
    }
    p
}

fn command_page(path: &[String], cmd: &clap::Command) -> String {
    let name = std::iter::once("imgf")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let mut s = header();
    let _ = writeln!(s, "# {name}\n");
    if let Some(about) = cmd.get_long_about().or_else(|| cmd.get_about()) {
        let _ = writeln!(s, "{}\n", sentence(&about.to_string()));
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.strip_prefix("Usage: ").unwrap_or(&usage);
    let _ = writeln!(s, "```text\n{usage}\n```\n");

    let top = path.is_empty();
    let shown = |a: &&clap::Arg| {
        !a.is_hide_set()
            && (top || !(a.is_global_set() || ["help", "version"].contains(&a.get_id().as_str())))
    };
    let positionals: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| a.is_positional())
        .collect();
    if !positionals.is_empty() {
        s.push_str("## Arguments\n\n");
        for a in positionals {
            argument(&mut s, a);
        }
    }
    let options: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(shown)
        .filter(|a| !a.is_positional())
        .collect();
    if !options.is_empty() {
        s.push_str("## Options\n\n");
        for a in options {
            argument(&mut s, a);
        }
    }
    if !top {
        s.push_str(
            "The options every command takes (`--color`, `--help`) are on the \
             [imgf](commands.md) page.\n\n",
        );
    }
    let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|c| !c.is_hide_set()).collect();
    if !subs.is_empty() {
        s.push_str("## Commands\n\n| Command | What it does |\n| --- | --- |\n");
        for sub in subs {
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            let about = sub
                .get_about()
                .map(|a| sentence(&a.to_string()))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "| [`imgf {}`]({}) | {} |",
                p.join(" "),
                page_file(&p),
                cell(&about)
            );
        }
        s.push('\n');
    }
    let key = path.join(" ");
    s.push_str("## Exit status\n\n");
    for row in reference::exit_codes(&key) {
        let _ = writeln!(s, "- **{}**: {}", row.code, row.meaning);
    }
    s.push_str("\nAll exit codes: [Exit codes](exit-codes.md).\n\n## Environment\n\n");
    for row in reference::environment(&key) {
        let _ = writeln!(s, "- `{}`: {}", row.name, row.meaning);
    }
    s.push_str("\nAll variables: [Environment variables](environment.md).\n");
    s
}

/// One argument as a list item: its forms, help, values and default.
fn argument(s: &mut String, a: &clap::Arg) {
    let value = a.get_value_names().map_or_else(
        || vec![a.get_id().as_str().to_uppercase()],
        |v| {
            v.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
        },
    );
    let takes_value = a.get_action().takes_values();
    let form = if a.is_positional() {
        let v = format!("<{}>", value.join("> <"));
        if a.is_required_set() {
            v
        } else {
            format!("[{v}]")
        }
    } else {
        let mut names = Vec::new();
        if let Some(c) = a.get_short() {
            names.push(format!("-{c}"));
        }
        if let Some(l) = a.get_long() {
            names.push(format!("--{l}"));
        }
        let mut f = names.join(", ");
        if takes_value {
            let _ = write!(f, " <{}>", value.join("> <"));
        }
        f
    };
    let help = a
        .get_long_help()
        .or_else(|| a.get_help())
        .map(|h| sentence(&h.to_string()))
        .unwrap_or_default();
    let _ = writeln!(s, "- `{form}`");
    let mut lines: Vec<String> = help.split("\n\n").map(str::to_string).collect();
    let aliases: Vec<String> = a
        .get_visible_aliases()
        .unwrap_or_default()
        .into_iter()
        .chain(a.get_aliases().unwrap_or_default())
        .map(|n| format!("`--{n}`"))
        .collect();
    if !aliases.is_empty() {
        lines.push(format!("Also: {}.", aliases.join(", ")));
    }
    let values: Vec<clap::builder::PossibleValue> = a
        .get_possible_values()
        .into_iter()
        .filter(|v| !v.is_hide_set())
        .collect();
    if takes_value && !values.is_empty() {
        let any_help = values.iter().any(|v| v.get_help().is_some());
        if any_help {
            let mut l = String::from("Values:");
            for v in &values {
                let _ = write!(l, "\n  - `{}`", v.get_name());
                if let Some(h) = v.get_help() {
                    let _ = write!(l, ": {}", sentence(&h.to_string()));
                }
            }
            lines.push(l);
        } else {
            let names: Vec<String> = values
                .iter()
                .map(|v| format!("`{}`", v.get_name()))
                .collect();
            lines.push(format!("Values: {}.", names.join(", ")));
        }
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|d| format!("`{}`", d.to_string_lossy()))
        .collect();
    if takes_value && !defaults.is_empty() {
        lines.push(format!("Default: {}.", defaults.join(", ")));
    }
    if a.is_required_set() && !a.is_positional() {
        lines.push("Required.".into());
    }
    if a.get_action().takes_values() && matches!(a.get_action(), clap::ArgAction::Append) {
        lines.push("Repeatable.".into());
    }
    for l in lines.iter().filter(|l| !l.is_empty()) {
        let _ = writeln!(s, "\n  {l}");
    }
    s.push('\n');
}

/// A table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn exit_codes_page(cmd: &clap::Command) -> String {
    let mut s = header();
    s.push_str(
        "# Exit codes\n\nEvery command exits with one of these; the status holds whatever \
         happens to stderr (closed, a pipe nobody reads).\n\n| Code | Commands | Meaning |\n| --- | --- | --- |\n",
    );
    for row in reference::EXIT_CODES {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            row.code,
            scope(row.scope, cmd),
            cell(row.meaning)
        );
    }
    s
}

fn environment_page(cmd: &clap::Command) -> String {
    let mut s = header();
    s.push_str(
        "# Environment variables\n\nWhat imgf reads from its environment, and the commands \
         concerned. Command-line flags beat the environment (`--color always` colours even \
         with NO_COLOR set).\n\n| Variable | Commands | Meaning |\n| --- | --- | --- |\n",
    );
    for row in reference::ENVIRONMENT {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            row.name,
            scope(row.scope, cmd),
            cell(row.meaning)
        );
    }
    s
}

/// The commands of a scope, each linked to its page.
fn scope(scope: reference::Scope, cmd: &clap::Command) -> String {
    match scope {
        reference::Scope::All => "all".into(),
        reference::Scope::Only(paths) => paths
            .iter()
            .map(|p| {
                let path: Vec<String> = p.split(' ').map(str::to_string).collect();
                debug_assert!(pages(cmd).iter().any(|(q, _)| *q == path));
                format!("[`{p}`]({})", page_file(&path))
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// What a schema describes: a file people write, or output imgf writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Keys are required or not; a key's type is what may be written.
    Input,
    /// Every key is always written; a value may be `null`.
    Output,
}

/// A page of JSON Schemas: each section's root shape, then every type they
/// use, once, in the order first reached.
fn schema_page(title: &str, intro: &str, sections: &[(&str, &str, Value)], kind: Kind) -> String {
    let mut s = header();
    let _ = writeln!(s, "# {title}\n\n{intro}\n");
    let mut defs: Vec<(String, Value)> = Vec::new();
    for (heading, text, schema) in sections {
        if let Some(d) = schema.get("$defs").and_then(Value::as_object) {
            for (k, v) in d {
                match defs.iter().find(|(n, _)| n == k) {
                    Some((_, same)) => assert_eq!(same, v, "two types named {k}"),
                    None => defs.push((k.clone(), v.clone())),
                }
            }
        }
        let _ = writeln!(s, "## {heading}\n");
        if !text.is_empty() {
            let _ = writeln!(s, "{text}\n");
        }
        body(&mut s, schema, kind);
    }
    // The types in the order the sections reach them.
    let mut order: Vec<String> = Vec::new();
    let mut queue: Vec<Value> = sections.iter().map(|(_, _, v)| v.clone()).collect();
    while !queue.is_empty() {
        let v = queue.remove(0);
        let mut refs = Vec::new();
        collect_refs(&v, &mut refs);
        for r in refs {
            if !order.contains(&r) {
                if let Some((_, d)) = defs.iter().find(|(n, _)| *n == r) {
                    queue.push(d.clone());
                }
                order.push(r);
            }
        }
    }
    for name in order {
        let Some((_, def)) = defs.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let _ = writeln!(s, "## {name}\n");
        body(&mut s, def, kind);
    }
    s
}

/// Every `$ref` name in `v`, in order.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$defs" {
                    continue;
                }
                if k == "$ref" {
                    if let Some(name) = x.as_str().and_then(|r| r.rsplit('/').next()) {
                        out.push(name.to_string());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// A schema's description, properties table or values.
fn body(s: &mut String, schema: &Value, kind: Kind) {
    if let Some(d) = schema.get("description").and_then(Value::as_str) {
        let _ = writeln!(s, "{}\n", prose(d));
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        s.push_str(match kind {
            Kind::Input => "| Key | Type | Required | Description |\n| --- | --- | --- | --- |\n",
            Kind::Output => "| Key | Type | Description |\n| --- | --- | --- |\n",
        });
        for (k, p) in props {
            let mut text = p
                .get("description")
                .and_then(Value::as_str)
                .map(prose)
                .unwrap_or_default();
            if let Some(d) = p.get("default").filter(|d| !is_empty(d)) {
                let _ = write!(text, " Default: `{d}`.");
            }
            let required = if required.contains(&k.as_str()) {
                "yes"
            } else {
                "no"
            };
            let _ = match kind {
                Kind::Input => writeln!(
                    s,
                    "| `{k}` | {} | {required} | {} |",
                    cell(&type_of(p)),
                    cell(text.trim())
                ),
                Kind::Output => {
                    let mut t = type_of(p);
                    if nullable(p) {
                        t.push_str(" or `null`");
                    }
                    if required == "no" {
                        t.push_str(" (may be absent)");
                    }
                    writeln!(s, "| `{k}` | {} | {} |", cell(&t), cell(text.trim()))
                }
            };
        }
        s.push('\n');
        if kind == Kind::Input && schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            s.push_str("Other keys are refused.\n\n");
        }
        return;
    }
    let values = enum_values(schema);
    if !values.is_empty() {
        s.push_str("One of:\n\n");
        for (v, d) in values {
            match d {
                Some(d) => {
                    let _ = writeln!(s, "- `{v}`: {}", prose(&d));
                }
                None => {
                    let _ = writeln!(s, "- `{v}`");
                }
            }
        }
        s.push('\n');
        return;
    }
    let _ = writeln!(s, "A {}.\n", type_of(schema));
}

/// Whether a schema allows `null`.
fn nullable(schema: &Value) -> bool {
    let null = Value::String("null".into());
    match schema.get("type") {
        Some(Value::Array(ts)) if ts.contains(&null) => return true,
        Some(t) if *t == null => return true,
        _ => {}
    }
    ["anyOf", "oneOf"].iter().any(|k| {
        schema
            .get(*k)
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(nullable))
    })
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The constant values a schema allows (`enum`, `const`, or a `oneOf` of
/// them), each with its description.
fn enum_values(schema: &Value) -> Vec<(String, Option<String>)> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let desc = schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return e.iter().map(|v| (text(v), None)).collect();
    }
    if let Some(c) = schema.get("const") {
        return vec![(text(c), desc)];
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(vs) = schema.get(key).and_then(Value::as_array) {
            let all: Vec<Vec<(String, Option<String>)>> = vs.iter().map(enum_values).collect();
            if all.iter().all(|v| !v.is_empty()) {
                return all.into_iter().flatten().collect();
            }
        }
    }
    Vec::new()
}

/// A schema's type, as people read it: `string`, `list of [Update](#update)`.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(vs) = schema.get(key).and_then(Value::as_array) {
            let values = enum_values(schema);
            if !values.is_empty() {
                return one_of(&values);
            }
            let types: Vec<String> = vs
                .iter()
                .filter(|v| v.get("type") != Some(&Value::String("null".into())))
                .map(type_of)
                .collect();
            return types.join(" or ");
        }
    }
    let values = enum_values(schema);
    if !values.is_empty() {
        return one_of(&values);
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    };
    let shown: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => match schema.get("items") {
                Some(items) => format!("list of {}", type_of(items)),
                None => "list".into(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(v @ Value::Object(_)) => format!("map of {}", type_of(v)),
                _ => "object".into(),
            },
            "integer" | "number" => "number".into(),
            other => other.into(),
        })
        .collect();
    if shown.is_empty() {
        "any".into()
    } else {
        shown.join(" or ")
    }
}

fn one_of(values: &[(String, Option<String>)]) -> String {
    let names: Vec<String> = values.iter().map(|(v, _)| format!("`{v}`")).collect();
    format!("one of {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_read_as_people_say_them() {
        assert_eq!(type_of(&json!({"type": ["string", "null"]})), "string");
        assert_eq!(
            type_of(&json!({"type": "array", "items": {"$ref": "#/$defs/Update"}})),
            "list of [Update](#update)"
        );
        assert_eq!(
            type_of(&json!({"anyOf": [{"$ref": "#/$defs/Source"}, {"type": "null"}]})),
            "[Source](#source)"
        );
        assert_eq!(
            type_of(&json!({"type": "object", "additionalProperties": {"type": "string"}})),
            "map of string"
        );
        assert_eq!(
            type_of(&json!({"oneOf": [{"type": "string", "enum": ["a", "b"]}, {"const": "c"}]})),
            "one of `a`, `b`, `c`"
        );
    }

    #[test]
    fn every_page_is_generated_once_and_links_to_pages_that_exist() {
        let pages = generate();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for must in [
            "commands.md",
            "imgf-synth.md",
            "imgf-updates-check.md",
            "images-yaml.md",
            "settings.md",
            "json-output.md",
            "exit-codes.md",
            "environment.md",
        ] {
            assert_eq!(names.iter().filter(|n| **n == must).count(), 1, "{must}");
        }
        let link = regex::Regex::new(r"\]\(([a-z-]+\.md)(#[a-z0-9_-]+)?\)").unwrap();
        let anchor = regex::Regex::new(r"\]\(#([a-z0-9_-]+)\)").unwrap();
        for (name, text) in &pages {
            for c in anchor.captures_iter(text) {
                let heading = format!("\n## {}\n", &c[1]);
                assert!(
                    text.to_lowercase().contains(&heading),
                    "{name} links to #{}, a heading it lacks",
                    &c[1]
                );
            }
            for c in link.captures_iter(text) {
                let target = &c[1];
                let page = pages
                    .iter()
                    .find(|(n, _)| n == target)
                    .unwrap_or_else(|| panic!("{name} links to {target}, not generated"));
                if let Some(anchor) = c.get(2) {
                    let heading = format!("\n## {}", &anchor.as_str()[1..]);
                    assert!(
                        page.1.to_lowercase().contains(&heading),
                        "{name}: no {heading} in {target}"
                    );
                }
            }
        }
    }
}
