//! The commit message of every ImageUpdateAutomation, a Go `text/template`
//! executed by image-automation-controller against its `TemplateData`.
//!
//! v1 removed `.Updated` (a template that uses it stalls the object), and
//! ranging over `.Changed.Objects` without variables sets dot to a
//! `[]Change`, so the old `{{ .Key.Name }}` fails. This template uses only
//! `.AutomationObject` and the `.Changed.Changes` method. The tests check
//! each field it uses against the controller's types, transcribed below,
//! and render it over sample data with a port of text/template's rules for
//! the actions it uses (fields, `range`, `end`, trim markers). Go is not run:
//! there is no Go toolchain or Go-template crate in the build.

/// The commit message template.
pub const COMMIT_MESSAGE: &str = "\
Update images ({{ .AutomationObject.Namespace }}/{{ .AutomationObject.Name }})

{{ range .Changed.Changes -}}
- {{ .OldValue }} -> {{ .NewValue }} ({{ .Setter }})
{{ end -}}
";

#[cfg(test)]
pub(crate) mod check {
    //! A type checker for the actions imgf's template uses (field chains,
    //! `range` with and without `$k, $v :=`, `end`), over a transcription of
    //! image-automation-controller's template data (main, 2026-07-01):
    //!
    //! - `internal/source/source.go`: `type TemplateData struct {
    //!   AutomationObject types.NamespacedName; Changed update.Result;
    //!   Values map[string]string }`
    //! - `k8s.io/apimachinery/pkg/types`: `NamespacedName { Namespace, Name string }`
    //! - `internal/update/result.go`: `Result { FileChanges map[string]ObjectChanges }`
    //!   with value methods `Changes() []Change` and `Objects() ObjectChanges`;
    //!   `ObjectChanges map[ObjectIdentifier][]Change`;
    //!   `ObjectIdentifier { yaml.ResourceIdentifier }` (kyaml:
    //!   `TypeMeta{APIVersion, Kind}` and `NameMeta{Name, Namespace}`, promoted);
    //!   `Change { OldValue, NewValue, Setter string }`.
    //!
    //! Go's text/template resolves `.X` on a struct as a field or a method,
    //! and fails on anything else; `range` over a slice or map sets dot to
    //! the element, and `$k, $v :=` binds the key and the element.

    use std::collections::HashMap;

    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Ty {
        Str,
        Struct(&'static str),
        Slice(Box<Ty>),
        Map(Box<Ty>, Box<Ty>),
    }

    fn fields(s: &str) -> Vec<(&'static str, Ty)> {
        use Ty::*;
        let change = || Slice(Box::new(Struct("update.Change")));
        let objects = || {
            Map(
                Box::new(Struct("update.ObjectIdentifier")),
                Box::new(change()),
            )
        };
        match s {
            "source.TemplateData" => vec![
                ("AutomationObject", Struct("types.NamespacedName")),
                ("Changed", Struct("update.Result")),
                ("Values", Map(Box::new(Str), Box::new(Str))),
            ],
            "types.NamespacedName" => vec![("Namespace", Str), ("Name", Str)],
            "update.Result" => vec![
                ("FileChanges", Map(Box::new(Str), Box::new(objects()))),
                ("Changes", change()),
                ("Objects", objects()),
            ],
            "update.ObjectIdentifier" => vec![
                ("APIVersion", Str),
                ("Kind", Str),
                ("Name", Str),
                ("Namespace", Str),
            ],
            "update.Change" => vec![("OldValue", Str), ("NewValue", Str), ("Setter", Str)],
            _ => vec![],
        }
    }

    fn resolve(expr: &str, dot: &Ty, root: &Ty, vars: &HashMap<String, Ty>) -> Result<Ty, String> {
        let (mut ty, rest) = if let Some(r) = expr.strip_prefix('$') {
            let (name, rest) = r.split_once('.').map_or((r, ""), |(n, r)| (n, r));
            let t = if name.is_empty() {
                root.clone()
            } else {
                vars.get(name)
                    .cloned()
                    .ok_or(format!("undefined variable ${name}"))?
            };
            (t, rest.to_string())
        } else if let Some(r) = expr.strip_prefix('.') {
            (dot.clone(), r.to_string())
        } else {
            return Err(format!("unsupported expression `{expr}`"));
        };
        for f in rest.split('.').filter(|f| !f.is_empty()) {
            ty = match &ty {
                Ty::Struct(s) => fields(s)
                    .into_iter()
                    .find(|(n, _)| *n == f)
                    .map(|(_, t)| t)
                    .ok_or(format!("can't evaluate field {f} in type {s}"))?,
                other => return Err(format!("can't evaluate field {f} in type {other:?}")),
            };
        }
        Ok(ty)
    }

    /// Checks every action of `template` against the controller's data.
    pub(crate) fn check(template: &str) -> Result<(), String> {
        let root = Ty::Struct("source.TemplateData");
        // (dot, variables) per open range.
        let mut stack: Vec<(Ty, HashMap<String, Ty>)> = vec![(root.clone(), HashMap::new())];
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").ok_or("unclosed action")? + start;
            let action = rest[start + 2..end]
                .trim_start_matches('-')
                .trim_end_matches('-')
                .trim();
            rest = &rest[end + 2..];
            let (dot, vars) = stack.last().cloned().ok_or("`end` without `range`")?;
            if action == "end" {
                stack.pop();
                if stack.is_empty() {
                    return Err("`end` without `range`".into());
                }
            } else if let Some(r) = action.strip_prefix("range ") {
                let (decl, expr) = r.split_once(":=").map_or(("", r), |(d, e)| (d, e));
                let over = resolve(expr.trim(), &dot, &root, &vars)?;
                let (key, elem) = match over {
                    Ty::Slice(e) => (Ty::Str, *e),
                    Ty::Map(k, e) => (*k, *e),
                    other => return Err(format!("range can't iterate over {other:?}")),
                };
                let mut vars = vars.clone();
                let names: Vec<&str> = decl
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .collect();
                match names.as_slice() {
                    [] => {}
                    [v] => {
                        vars.insert(v.trim_start_matches('$').into(), elem.clone());
                    }
                    [k, v] => {
                        vars.insert(k.trim_start_matches('$').into(), key);
                        vars.insert(v.trim_start_matches('$').into(), elem.clone());
                    }
                    _ => return Err(format!("bad range declaration `{decl}`")),
                }
                stack.push((elem, vars));
            } else {
                let t = resolve(action, &dot, &root, &vars)?;
                if t != Ty::Str {
                    return Err(format!("`{action}` is a {t:?}, not text"));
                }
            }
        }
        if stack.len() != 1 {
            return Err("a `range` is not closed".into());
        }
        Ok(())
    }

    /// A value of the template data, for [`render`].
    #[derive(Debug, Clone)]
    pub(crate) enum Val {
        Str(String),
        List(Vec<Val>),
        Obj(Vec<(&'static str, Val)>),
    }

    enum Tok {
        Text(String),
        Action(String),
    }

    /// Splits `template` as text/template does, applying the trim markers
    /// (`{{- ` trims the whitespace before, ` -}}` the whitespace after).
    fn tokens(template: &str) -> Result<Vec<Tok>, String> {
        let mut out = Vec::new();
        let mut rest = template;
        let mut trim_next = false;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..].find("}}").ok_or("unclosed action")? + start;
            let mut text = rest[..start].to_string();
            if trim_next {
                text = text.trim_start().to_string();
            }
            let inner = &rest[start + 2..end];
            if inner.starts_with("- ") {
                text = text.trim_end().to_string();
            }
            trim_next = inner.ends_with(" -");
            out.push(Tok::Text(text));
            out.push(Tok::Action(
                inner
                    .trim_start_matches('-')
                    .trim_end_matches('-')
                    .trim()
                    .to_string(),
            ));
            rest = &rest[end + 2..];
        }
        out.push(Tok::Text(if trim_next {
            rest.trim_start().to_string()
        } else {
            rest.to_string()
        }));
        Ok(out)
    }

    fn field<'v>(dot: &'v Val, path: &str) -> Result<&'v Val, String> {
        let mut v = dot;
        for f in path
            .trim_start_matches('.')
            .split('.')
            .filter(|f| !f.is_empty())
        {
            v = match v {
                Val::Obj(fs) => fs
                    .iter()
                    .find(|(n, _)| *n == f)
                    .map(|(_, v)| v)
                    .ok_or(format!("can't evaluate field {f}"))?,
                _ => return Err(format!("can't evaluate field {f}")),
            };
        }
        Ok(v)
    }

    fn exec(toks: &[Tok], mut i: usize, dot: &Val, out: &mut String) -> Result<usize, String> {
        while i < toks.len() {
            match &toks[i] {
                Tok::Text(t) => out.push_str(t),
                Tok::Action(a) if a == "end" => return Ok(i),
                Tok::Action(a) => {
                    if let Some(expr) = a.strip_prefix("range ") {
                        let Val::List(items) = field(dot, expr.trim())? else {
                            return Err(format!("range can't iterate over {expr}"));
                        };
                        let mut end = None;
                        for item in items {
                            end = Some(exec(toks, i + 1, item, out)?);
                        }
                        // An empty range still has to find its `end`.
                        i = match end {
                            Some(e) => e,
                            None => exec(toks, i + 1, dot, &mut String::new())?,
                        };
                    } else {
                        match field(dot, a)? {
                            Val::Str(s) => out.push_str(s),
                            _ => return Err(format!("`{a}` is not text")),
                        }
                    }
                }
            }
            i += 1;
        }
        Ok(i)
    }

    /// Renders `template` over `data` the way text/template does, for the
    /// actions [`check`] accepts without variables (fields, `range`, `end`).
    pub(crate) fn render(template: &str, data: &Val) -> Result<String, String> {
        let toks = tokens(template)?;
        let mut out = String::new();
        exec(&toks, 0, data, &mut out)?;
        Ok(out)
    }
}
