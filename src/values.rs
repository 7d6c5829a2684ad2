//! Value rules: what a user-supplied string may contain before imgf puts it
//! into a URL, a JSON body, a Kargo expression, a YAML document or a command
//! line.
//!
//! The rules are allow-lists, deliberately narrower than what each system
//! would technically accept: no value a user writes can carry `${{`, `}}`,
//! quotes, backslashes, whitespace or control characters into the output, so
//! nothing downstream ever has to guess how to escape it. Each check returns
//! the reason a value is refused, phrased to be shown to the user.

use std::sync::LazyLock;

use regex::Regex;

/// A value rule: `Err` holds the reason a value is refused.
pub(crate) type Rule = fn(&str) -> Result<(), String>;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid built-in pattern")
}

/// Characters that, anywhere, would let a value escape its context.
fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|c| {
        c.is_control()
            || c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '\\' | '$' | '{' | '}' | ';' | '|' | '&' | '<' | '>'
            )
    })
}

/// A character named for an error message (`a space`, `` `{` ``).
pub(crate) fn describe_char(c: char) -> String {
    describe(c)
}

fn describe(c: char) -> String {
    match c {
        '\n' => "a newline".into(),
        '\t' => "a tab".into(),
        ' ' => "a space".into(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

fn no_forbidden(s: &str) -> Result<(), String> {
    match forbidden_char(s) {
        Some(c) => Err(format!("it contains {}", describe(c))),
        None => Ok(()),
    }
}

/// A Backstage entity reference, as `spec.owner` and `spec.system` hold it:
/// `[kind:][namespace/]name` — the name 1–63 characters of `[a-zA-Z0-9]`
/// runs joined by `-`, `_` or `.`, the namespace a DNS label
/// (`platform-team`, `group:default/platform-team`).
pub(crate) fn entity_ref(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^([a-zA-Z][a-zA-Z0-9]*:)?([a-z0-9]+(-[a-z0-9]+)*/)?[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$")
    });
    no_forbidden(s)?;
    let name = s.rsplit('/').next().unwrap_or(s);
    let name = name.rsplit(':').next().unwrap_or(name);
    if name.len() <= 63 && R.is_match(s) {
        Ok(())
    } else {
        Err("a Backstage entity reference is `[kind:][namespace/]name`, the name at most 63 letters, digits, `-`, `_` and `.`, like `platform-team` or `group:default/platform-team`".into())
    }
}

/// A Backstage lifecycle (`production`, `experimental`): what the catalog
/// shows as it is, so a name of letters, digits, `-`, `_` and `.`.
pub(crate) fn lifecycle(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$"));
    no_forbidden(s)?;
    if s.len() <= 63 && R.is_match(s) {
        Ok(())
    } else {
        Err("a lifecycle is a word like `production` or `experimental` (letters, digits, `-`, `_`, `.`; at most 63)".into())
    }
}

/// What the analysis Stage passes as `--tag` and `--digest` when the image
/// has no build yet (a first promotion with only a commit of its sources):
/// neither a valid tag nor a digest, and never an empty argument. The
/// generated Stage writes it and `imgf analyze` reads it, so it lives here,
/// below both.
pub(crate) const NO_BUILD: &str = "-";

/// An image digest as `--digest` takes it: `sha256:` and 64 hex digits.
pub(crate) fn sha256_digest(s: &str) -> Result<(), String> {
    let hex = s.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("`{}` is not a sha256 digest", s.escape_debug()))
    }
}

/// A registry host, optionally with a port: `ghcr.io`, `localhost:5000`.
pub(crate) fn registry(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$")
    });
    no_forbidden(s)?;
    if R.is_match(s) {
        match s.split_once(':').map(|(_, p)| p.parse::<u32>()) {
            Some(Ok(p)) if !(1..=65_535).contains(&p) => Err(format!(
                "the port {p} is out of range: a port is a number from 1 to 65535"
            )),
            _ => Ok(()),
        }
    } else {
        Err("a registry is a lowercase host name with an optional port, like `ghcr.io` or `registry.local:5000`".into())
    }
}

/// A repository path in Docker's reference grammar: lowercase components
/// separated by `/` (`library/node`, `org/team/app`).
pub(crate) fn repository(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
    });
    no_forbidden(s)?;
    if s.len() <= 255 && R.is_match(s) {
        Ok(())
    } else {
        Err("a repository is lowercase letters, digits and `._-` in `/`-separated parts, like `org/app` (Docker's reference grammar)".into())
    }
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (Docker's reference grammar).
pub(crate) fn tag(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"));
    no_forbidden(s)?;
    if s.len() <= 128 && R.is_match(s) {
        Ok(())
    } else {
        Err("a tag is up to 128 letters, digits and `_.-`, not starting with `.` or `-`".into())
    }
}

/// A source repository path: `owner/name` on GitHub, `group/subgroup/name`
/// on GitLab.
pub(crate) fn source_repo(s: &str, nested_groups: bool) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"));
    no_forbidden(s)?;
    let parts: Vec<&str> = s.split('/').collect();
    let seg = &R;
    let ok_count = if nested_groups {
        parts.len() >= 2
    } else {
        parts.len() == 2
    };
    if ok_count
        && parts
            .iter()
            .all(|p| seg.is_match(p) && !p.ends_with(".git") && *p != ".." && *p != ".")
    {
        Ok(())
    } else if nested_groups {
        Err(
            "a GitLab project is `group/project` or `group/subgroup/project` (no `.git`, no URL)"
                .into(),
        )
    } else {
        Err("a GitHub repository is `owner/name` (no `.git`, no URL)".into())
    }
}

/// A branch name: git's ref-name rules, narrowed to characters that are safe
/// in every output context.
pub(crate) fn branch(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9._/+@#%=,-]+$"));
    no_forbidden(s)?;
    if s.is_empty() || s.len() > 255 {
        return Err("a branch name must be 1 to 255 characters".into());
    }
    if !R.is_match(s) {
        return Err("a branch name may contain letters, digits and `._/+@#%=,-`".into());
    }
    let bad = s.starts_with('-')
        || s.starts_with('/')
        || s.ends_with('/')
        || s.ends_with('.')
        || s.ends_with(".lock")
        || s.contains("..")
        || s.contains("//")
        || s.contains("@{")
        || s == "@"
        || s.split('/').any(|p| p.starts_with('.'));
    if bad {
        Err("it is not a valid git branch name (see `git check-ref-format`)".into())
    } else {
        Ok(())
    }
}

/// Kargo v1.11.2's pattern for a Warehouse Git subscription's `branch`,
/// exactly as `pkg/subscription/schemas/git.json` writes it (the same as
/// `branchRegex` in `pkg/subscription/git.go`, which the Warehouse webhook
/// applies). RE2 syntax; compiled ASCII-only, as Go reads it.
pub(crate) const KARGO_BRANCH_PATTERN: &str = r"^[a-zA-Z0-9]([a-zA-Z0-9._\/-]*[a-zA-Z0-9_-])?$";

/// Kargo v1.11.2's pattern for a Warehouse image subscription's `repoURL`,
/// exactly as `pkg/subscription/schemas/image.json` writes it (the same as
/// `imageRepoURLRegex` in `pkg/subscription/image.go`). Go's `\w` and `\d`
/// are ASCII-only, so it is compiled without Unicode classes.
pub(crate) const KARGO_IMAGE_REPO_URL_PATTERN: &str =
    r"^(\w+([\.-]\w+)*(:[\d]+)?/)?(\w+([\.-]\w+)*)(/\w+([\.-]\w+)*)*$";

/// A schema pattern compiled as Go's `regexp` reads it: `\w`, `\d` and the
/// classes match ASCII only.
fn go_re(pattern: &str) -> Regex {
    regex::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("valid schema pattern")
}

/// A branch a Kargo Warehouse may subscribe to: [`KARGO_BRANCH_PATTERN`]
/// (and Kargo's `maxLength: 255`). Stricter than git: only letters, digits
/// and `._/-`, starting with a letter or digit and ending with a letter,
/// digit, `_` or `-`. Flux and Backstage take any git branch.
pub(crate) fn kargo_branch(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| go_re(KARGO_BRANCH_PATTERN));
    if s.len() <= 255 && R.is_match(s) {
        return Ok(());
    }
    Err(kargo_branch_problem(s)
        .unwrap_or_else(|| "Kargo's Warehouse does not accept it as a branch".into()))
}

/// Which part of Kargo's branch rule `s` breaks, in words; `None` when it
/// keeps the rule (the tests check this agrees with the schema's pattern).
fn kargo_branch_problem(s: &str) -> Option<String> {
    const RULE: &str = "Kargo subscribes only to branches of letters, digits and `._/-` that start with a letter or digit and end with a letter, digit, `_` or `-`";
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-');
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s.len() > 255 {
        return Some("Kargo subscribes only to branches of at most 255 characters".into());
    }
    if let Some(c) = s.chars().find(|&c| !allowed(c)) {
        return Some(format!("{RULE}, and it contains {}", describe(c)));
    }
    let first = s.chars().next().unwrap_or_default();
    if !first.is_ascii_alphanumeric() {
        return Some(format!("{RULE}, and it starts with `{first}`"));
    }
    let last = s.chars().next_back().unwrap_or_default();
    if !(last.is_ascii_alphanumeric() || matches!(last, '_' | '-')) {
        return Some(format!("{RULE}, and it ends with `{last}`"));
    }
    None
}

/// An image repository URL a Kargo Warehouse may subscribe to
/// (`registry/repository`): [`KARGO_IMAGE_REPO_URL_PATTERN`]. Stricter than
/// Docker's reference grammar: between runs of letters, digits and `_`
/// there is exactly one `.` or `-`, so `my--app` (which Docker, Flux and
/// Backstage take) is refused.
pub(crate) fn kargo_image_repo_url(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| go_re(KARGO_IMAGE_REPO_URL_PATTERN));
    if R.is_match(s) {
        return Ok(());
    }
    Err(kargo_image_repo_url_problem(s).unwrap_or_else(|| {
        "Kargo's Warehouse does not accept it as an image repository URL".into()
    }))
}

/// Which part of Kargo's image repository rule `s` breaks, in words; `None`
/// when it keeps the rule (the tests check this agrees with the pattern).
fn kargo_image_repo_url_problem(s: &str) -> Option<String> {
    const RULE: &str = "Kargo subscribes only to image repositories whose `/`-separated parts are letters, digits and `_` joined by single `.` or `-`";
    if s.is_empty() {
        return Some("it is empty".into());
    }
    let parts: Vec<&str> = s.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        // Only the first of several parts (the registry) may have a port.
        let (name, port) = match part.split_once(':') {
            Some((n, p)) if i == 0 && parts.len() > 1 => (n, Some(p)),
            _ => (*part, None),
        };
        if let Some(p) = port {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!(
                    "{RULE}, and `{part}` has a port that is not a number"
                ));
            }
        }
        if name.is_empty() {
            return Some(format!("{RULE}, and it has an empty part"));
        }
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if let Some(c) = name.chars().find(|&c| !word(c) && c != '.' && c != '-') {
            return Some(format!("{RULE}, and it contains {}", describe(c)));
        }
        let seps: Vec<&str> = name.split(word).filter(|run| !run.is_empty()).collect();
        if let Some(run) = seps.iter().find(|run| run.len() > 1) {
            return Some(format!("{RULE}, and `{name}` has `{run}`"));
        }
        if name.starts_with(['.', '-']) || name.ends_with(['.', '-']) {
            return Some(format!(
                "{RULE}, and `{name}` starts or ends with `.` or `-`"
            ));
        }
    }
    None
}

/// A GitHub workflow: its file name (`build.yml`) or numeric id.
pub(crate) fn workflow(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> =
        LazyLock::new(|| re(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*\.ya?ml|[0-9]+)$"));
    no_forbidden(s)?;
    if R.is_match(s) {
        Ok(())
    } else {
        Err("a workflow is the file name under .github/workflows (like `build.yml`) or its numeric id".into())
    }
}

/// A path inside a repository: relative, no `..`, no empty parts.
pub(crate) fn repo_path(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9._/@+=,-]+$"));
    no_forbidden(s)?;
    if s.starts_with('/') {
        return Err("it is an absolute path; give the path relative to the repository root".into());
    }
    if s.split('/').any(|p| p == "..") {
        return Err("it leaves the repository with `..`".into());
    }
    if s.is_empty() || s.split('/').any(str::is_empty) && !s.ends_with('/') {
        return Err("it has an empty path component".into());
    }
    if R.is_match(s) {
        Ok(())
    } else {
        Err("a path may contain letters, digits and `._/@+=,-`".into())
    }
}

pub(crate) fn interval(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9]+(\.[0-9]+)?(s|m|h))+$"));
    if R.is_match(s) {
        Ok(())
    } else {
        Err("an interval is a number with a unit s, m or h, like `5m` or `24h`".into())
    }
}

/// An https URL without credentials, query or fragment.
pub(crate) fn https_url(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> =
        LazyLock::new(|| re(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+-]*)?$"));
    no_forbidden(s)?;
    if R.is_match(s) {
        Ok(())
    } else {
        Err("expected an https URL like `https://github.example.com/api/v3` (no user, query or fragment)".into())
    }
}

/// A URL a verification check calls: http or https, no credentials, no
/// quotes, braces or whitespace.
pub(crate) fn check_url(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=?&,:@-]*)?$")
    });
    no_forbidden(s)?;
    if s.len() <= 2048 && R.is_match(s) && !s.contains('@') {
        Ok(())
    } else {
        Err("expected a URL like `https://api.example.org/healthz` (no user or fragment)".into())
    }
}

/// A JSONPath as Argo Rollouts' web provider reads it: `{$.status}`.
pub(crate) fn json_path(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^\{\$(\.[A-Za-z0-9_-]+|\[[0-9]+\])*\}$"));
    if R.is_match(s) {
        Ok(())
    } else {
        Err("expected a JSONPath of fields and indexes in braces, like `{$.status}` or `{$.checks[0].state}`".into())
    }
}

/// A plain one-line value compared or passed on: no control characters,
/// quotes, backslashes or template braces.
pub(crate) fn plain_value(s: &str) -> Result<(), String> {
    match s
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\' | '`'))
    {
        Some(c) => Err(format!("it contains {}", describe(c))),
        None if s.contains("{{") || s.contains("}}") => {
            Err("it contains `{{` or `}}`, which Argo Rollouts and Kargo read as a template".into())
        }
        None if s.len() > 1024 => Err("it is longer than 1024 characters".into()),
        None => Ok(()),
    }
}

/// A `yaml-update` key: dot-separated fields and indexes (`image.tag`).
pub(crate) fn yaml_key(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"));
    if s.len() <= 256 && R.is_match(s) {
        Ok(())
    } else {
        Err("a key is dot-separated fields and list indexes, like `image.tag` or `spec.template.spec.containers.0.image`".into())
    }
}

/// A Secret or other object name (DNS-1123 subdomain).
pub(crate) fn object_name(s: &str) -> Result<(), String> {
    if crate::names::is_dns1123_subdomain(s) {
        Ok(())
    } else {
        Err("a Kubernetes object name is lowercase letters, digits, `-` and `.`".into())
    }
}

/// A key inside a Secret's data.
pub(crate) fn secret_key(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[-._a-zA-Z0-9]+$"));
    if (1..=253).contains(&s.len()) && R.is_match(s) {
        Ok(())
    } else {
        Err("a Secret key is letters, digits and `-._`".into())
    }
}

/// An image reference used as a container image: `registry/repo:tag` or
/// `@sha256:…`, no shell or template characters.
pub(crate) fn container_image(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[a-f0-9]+)?$",
        )
    });
    no_forbidden(s)?;
    if s.len() <= 512 && R.is_match(s) {
        Ok(())
    } else {
        Err("expected an image reference like `ghcr.io/org/imgf:0.1.0`".into())
    }
}

/// A container image pinned by tag or digest: a [`container_image`] that
/// names a tag other than `latest`, or a digest.
pub(crate) fn pinned_image(s: &str) -> Result<(), String> {
    container_image(s)?;
    let r = crate::image_ref::ImageRef::parse(s).map_err(|e| e.problem)?;
    match (&r.digest, r.tag.as_deref()) {
        (Some(_), _) => Ok(()),
        (None, Some(t)) if t != "latest" && s.ends_with(&format!(":{t}")) => Ok(()),
        _ => Err("the image is not pinned: name a tag other than `latest` (`:0.58.1`) or a digest (`@sha256:…`)".into()),
    }
}

/// A name of a workflow input or pipeline variable.
pub(crate) fn input_name(s: &str) -> Result<(), String> {
    static R: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_][A-Za-z0-9_-]*$"));
    if s.len() <= 100 && R.is_match(s) {
        Ok(())
    } else {
        Err("an input name is letters, digits, `_` and `-`, starting with a letter or `_`".into())
    }
}

/// A Kubernetes label key or value of the user's (Namespace labels).
pub(crate) fn label(key: &str, value: &str) -> Result<(), String> {
    static K: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        )
    });
    let key_ok = K.is_match(key) && key.rsplit('/').next().is_some_and(|n| n.len() <= 63);
    if !key_ok {
        return Err(format!("`{key}` is not a valid label key"));
    }
    if !crate::names::is_valid_label_value(value) {
        return Err(format!("`{value}` is not a valid label value"));
    }
    Ok(())
}

/// A commit author's name: one line, no characters that escape a context
/// (spaces allowed).
pub(crate) fn commit_author(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 100 {
        return Err("a name of 1 to 100 characters".into());
    }
    s.split(' ').try_for_each(|w| {
        if w.is_empty() {
            Ok(())
        } else {
            no_forbidden(w)
        }
    })
}

/// An e-mail address, plainly: `local@domain`.
pub(crate) fn email(s: &str) -> Result<(), String> {
    static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$"));
    if EMAIL.is_match(s) {
        Ok(())
    } else {
        Err("an address like `bot@example.org`".into())
    }
}

/// A semver range as Flux (Masterminds semver) reads it: comparators such as
/// `>=1.0.0 <2`, `~1.4`, `^2`, `1.2 - 1.4`, alternatives joined by `||`.
pub(crate) fn semver_range(s: &str) -> Result<(), String> {
    static COMPARATOR: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:[<>]=?|=|!=|~>?|\^)?v?(?:[0-9]+|[xX*])(?:\.(?:[0-9]+|[xX*])){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$",
        )
    });
    let comparator = &COMPARATOR;
    if s.trim().is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > 256 || s.chars().any(char::is_control) {
        return Err("a range is one short line".into());
    }
    for alt in s.split("||") {
        let mut any = false;
        // Operators may be followed by spaces (`>= 1.0`): glue them back on.
        let mut pending = String::new();
        for tok in alt.split([' ', ',']).filter(|t| !t.is_empty()) {
            if tok == "-" {
                continue;
            }
            pending.push_str(tok);
            if matches!(
                pending.as_str(),
                "<" | ">" | "<=" | ">=" | "=" | "!=" | "~" | "~>" | "^"
            ) {
                continue;
            }
            if !comparator.is_match(&pending) {
                return Err(format!("`{pending}` is not a version or a comparison"));
            }
            pending.clear();
            any = true;
        }
        if !pending.is_empty() {
            return Err(format!("`{pending}` has no version after it"));
        }
        if !any {
            return Err("an alternative between `||` is empty".into());
        }
    }
    Ok(())
}

/// A tag regex (RE2 syntax, as Go reads it) with a named group whose value
/// orders the tags; returns the group's name.
pub(crate) fn tag_pattern(s: &str) -> Result<String, String> {
    if s.len() > 512 || s.chars().any(char::is_control) {
        return Err("a pattern is one line of at most 512 characters".into());
    }
    let r = Regex::new(s).map_err(|e| format!("it is not a valid regex: {e}"))?;
    r.capture_names()
        .flatten()
        .next()
        .map(str::to_string)
        .ok_or_else(|| "it has no named group (`(?P<ts>…)`) to order the tags by".into())
}

/// The regex that matches exactly `tag`, in RE2 syntax (Go's `QuoteMeta`).
pub fn exact_tag_regex(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 4);
    out.push('^');
    for c in tag.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// Git URLs compared as Git hosts do: lowercase, no trailing `/` or `.git`.
pub(crate) fn normalize_git_url(u: &str) -> String {
    u.to_ascii_lowercase()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_refused_everywhere() {
        let hostile = [
            "a\"b",
            "x}}y",
            "${{ secret('x') }}",
            "a\nb",
            "a;rm -rf /",
            "a b",
            "a'b",
            "a\\b",
            "{{args.x}}",
        ];
        for h in hostile {
            assert!(registry(h).is_err(), "registry {h:?}");
            assert!(repository(h).is_err(), "repository {h:?}");
            assert!(source_repo(h, true).is_err(), "repo {h:?}");
            assert!(branch(h).is_err(), "branch {h:?}");
            assert!(workflow(h).is_err(), "workflow {h:?}");
            assert!(repo_path(h).is_err(), "path {h:?}");
            assert!(tag(h).is_err(), "tag {h:?}");
            assert!(https_url(h).is_err(), "url {h:?}");
            assert!(container_image(h).is_err(), "image {h:?}");
        }
    }

    #[test]
    fn ordinary_values_pass() {
        registry("ghcr.io").unwrap();
        registry("localhost:5000").unwrap();
        repository("craigedmunds/market-making/metrics-service").unwrap();
        source_repo("CraigEdmunds/argocd-eda", false).unwrap();
        source_repo("group/sub/project", true).unwrap();
        assert!(source_repo("group/sub/project", false).is_err());
        branch("feature/backstage-events").unwrap();
        branch("release-1.2").unwrap();
        assert!(branch("a..b").is_err());
        assert!(branch("x.lock").is_err());
        workflow("e2e-runner.yml").unwrap();
        workflow("12345").unwrap();
        repo_path("backstage/app/packages/backend/Dockerfile").unwrap();
        assert!(repo_path("../etc/passwd").is_err());
        assert!(repo_path("/abs/Dockerfile").is_err());
        tag("22-bookworm-slim").unwrap();
        https_url("https://api.github.com").unwrap();
        https_url("https://ghe.example.com/api/v3").unwrap();
        container_image("ghcr.io/org/imgf:0.1.0").unwrap();
    }

    /// A schema pattern as Go's `regexp` compiles it (ASCII `\w`, `\d`),
    /// apart from the code under test.
    fn schema(pattern: &str) -> Regex {
        regex::RegexBuilder::new(pattern)
            .unicode(false)
            .build()
            .unwrap()
    }

    #[test]
    fn kargo_branches() {
        for ok in [
            "main",
            "release/1.2",
            "feature/backstage-events",
            "wip_",
            "fix-",
            "a..b",
            "7",
        ] {
            assert!(kargo_branch(ok).is_ok(), "{ok}: {:?}", kargo_branch(ok));
        }
        for (bad, why) in [
            ("feature/", "ends with `/`"),
            ("-x", "starts with `-`"),
            ("_wip", "starts with `_`"),
            ("v1.", "ends with `.`"),
            ("release+1", "contains `+`"),
            ("user@topic", "contains `@`"),
            ("caf\u{e9}", "contains `\u{e9}`"),
            ("", "empty"),
        ] {
            let e = kargo_branch(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(kargo_branch(&"a".repeat(256)).is_err());
        // Git's rules still apply first: Kargo would take `a..b`, git not.
        assert!(branch("a..b").is_err());
    }

    #[test]
    fn kargo_image_repo_urls() {
        for ok in [
            "ghcr.io/org/app",
            "docker.io/library/node",
            "localhost:5000/app",
            "ghcr.io/org/my_app",
            "ghcr.io/org/my__app",
            "ghcr.io/org/my_.app",
            "node",
        ] {
            assert!(
                kargo_image_repo_url(ok).is_ok(),
                "{ok}: {:?}",
                kargo_image_repo_url(ok)
            );
        }
        for (bad, why) in [
            ("ghcr.io/org/my--app", "`my--app` has `--`"),
            ("my--reg.io/app", "`my--reg.io` has `--`"),
            ("ghcr.io/org/my-.app", "has `-.`"),
            ("ghcr.io/org/-app", "starts or ends"),
            ("ghcr.io//app", "empty part"),
            ("ghcr.io/org/app/", "empty part"),
            ("localhost:5000", "contains `:`"),
            ("ghcr.io:x/app", "not a number"),
            ("ghcr.io/org:1/app", "contains `:`"),
            ("ghcr.io/org/\u{e1}pp", "contains `\u{e1}`"),
        ] {
            let e = kargo_image_repo_url(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Docker's grammar takes `--` (Flux and Backstage with it); it
        // refuses `_.`, which Kargo would take.
        repository("org/my--app").unwrap();
        assert!(repository("org/my_.app").is_err());
    }

    proptest::proptest! {
        /// imgf's Kargo branch check is the schema's pattern, and the rule
        /// in words names a reason exactly when the pattern refuses.
        #[test]
        fn kargo_branch_is_the_schema_pattern(
            s in "[a-zA-Z0-9._/+@#%=,\u{e9}\u{663} -]{0,12}|\\PC{0,12}"
        ) {
            let matches = schema(KARGO_BRANCH_PATTERN).is_match(&s) && s.len() <= 255;
            proptest::prop_assert_eq!(kargo_branch(&s).is_ok(), matches);
            proptest::prop_assert_eq!(kargo_branch_problem(&s).is_none(), matches);
            // Whatever imgf lets into a Warehouse's branch, Kargo takes.
            if branch(&s).is_ok() && kargo_branch(&s).is_ok() {
                proptest::prop_assert!(matches);
            }
        }

        /// The same for image repository URLs: the check is the pattern,
        /// the words agree with it, and every `registry/repository` imgf
        /// accepts for the Kargo target matches it.
        #[test]
        fn kargo_image_repo_url_is_the_schema_pattern(
            s in "[a-zA-Z0-9_.:/\u{e1}\u{663}-]{0,16}|\\PC{0,16}",
            registry_part in "[a-z0-9.:-]{1,10}",
            repository_part in "[a-z0-9._/-]{1,12}",
        ) {
            let pattern = schema(KARGO_IMAGE_REPO_URL_PATTERN);
            let matches = pattern.is_match(&s);
            proptest::prop_assert_eq!(kargo_image_repo_url(&s).is_ok(), matches);
            proptest::prop_assert_eq!(kargo_image_repo_url_problem(&s).is_none(), matches);
            let url = format!("{registry_part}/{repository_part}");
            if registry(&registry_part).is_ok()
                && repository(&repository_part).is_ok()
                && kargo_image_repo_url(&url).is_ok()
            {
                proptest::prop_assert!(pattern.is_match(&url));
            }
        }
    }

    #[test]
    fn semver_ranges() {
        for ok in [
            ">=1.0.0 <2",
            "~1.4",
            "^2",
            "1.2 - 1.4",
            ">= 1.0, < 2.0",
            "1.x || >=3.0.0-rc.1",
            "*",
        ] {
            assert!(semver_range(ok).is_ok(), "{ok}: {:?}", semver_range(ok));
        }
        for bad in ["", "latest", ">=", "1.0 ||", "1.0\n"] {
            assert!(semver_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_patterns_need_a_named_group() {
        assert_eq!(
            tag_pattern("^main-[a-f0-9]+-(?P<ts>[0-9]+)$").as_deref(),
            Ok("ts")
        );
        assert!(tag_pattern("^main-[a-f0-9]+-([0-9]+)$").is_err());
        assert!(tag_pattern("^main-(").is_err());
    }
}
