//! git, through the `git` command: the process wrapper, sparse fetches of
//! source repositories (and their cache, [`Checkouts`]), and the state
//! repository's transaction ([`state_repo`]). Not a subcommand: analyze,
//! record-update and `updates check` use it.
//!
//! Tokens (`GITHUB_TOKEN`, `GITLAB_TOKEN`) reach git only through the child
//! process's environment (`GIT_CONFIG_*` → an `http.extraHeader`), never in a
//! URL, an argument, a log line or a file; error output is scrubbed of them
//! before it is shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) mod state_repo;

/// A credential for HTTPS git remotes.
#[derive(Clone)]
pub(crate) struct Token {
    user: &'static str,
    secret: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// The token for a provider from the environment, if set.
    pub(crate) fn from_env(gitlab: bool) -> Option<Token> {
        let (var, user) = if gitlab {
            ("GITLAB_TOKEN", "oauth2")
        } else {
            ("GITHUB_TOKEN", "x-access-token")
        };
        std::env::var(var)
            .ok()
            .filter(|t| !t.is_empty())
            .map(|secret| Token { user, secret })
    }
}

fn base64(input: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Runs `git ARGS` in `dir`; returns stdout, or stderr (scrubbed) as the error.
pub(crate) fn git(dir: &Path, args: &[&str], token: Option<&Token>) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    if let Some(t) = token {
        let header = format!(
            "Authorization: Basic {}",
            base64(format!("{}:{}", t.user, t.secret).as_bytes())
        );
        cmd.env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env("GIT_CONFIG_VALUE_0", header);
    }
    let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if let Some(t) = token {
            msg = msg.replace(&t.secret, "<redacted>");
        }
        Err(format!("git {}: {msg}", args.first().unwrap_or(&"")))
    }
}

/// Fetches just `paths` of `branch` from `url` (shallow, sparse, blobless)
/// into `cache`, and returns the checkout's root.
pub(crate) fn fetch_sparse(
    url: &str,
    branch: &str,
    paths: &[&str],
    cache: &Path,
    token: Option<&Token>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(cache)
        .map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    if !cache.join(".git").exists() {
        git(cache, &["init", "-q"], None)?;
    }
    let mut sparse = vec!["sparse-checkout", "set", "--no-cone"];
    let rooted: Vec<String> = paths.iter().map(|p| format!("/{p}")).collect();
    sparse.extend(rooted.iter().map(String::as_str));
    git(cache, &sparse, None)?;
    git(
        cache,
        &[
            "fetch",
            "-q",
            "--depth",
            "1",
            "--filter=blob:none",
            "--",
            url,
            branch,
        ],
        token,
    )?;
    git(cache, &["checkout", "-q", "--force", "FETCH_HEAD"], token)?;
    Ok(cache.to_path_buf())
}

/// The root of the work tree holding `dir`.
pub(crate) fn toplevel(dir: &Path) -> Result<PathBuf, String> {
    git(dir, &["rev-parse", "--show-toplevel"], None).map(|s| PathBuf::from(s.trim()))
}

/// Commits exactly `paths` (whatever else is staged stays staged and out of
/// the commit) with `message`; `false` when they hold no change. The author
/// is git's own configuration when it names one, else imgf.
pub(crate) fn commit(repo: &Path, paths: &[&str], message: &str) -> Result<bool, String> {
    if paths.is_empty() {
        return Ok(false);
    }
    let mut add = vec!["add", "-A", "--"];
    add.extend(paths);
    git(repo, &add, None)?;
    let mut diff = vec!["diff", "--cached", "--quiet", "--"];
    diff.extend(paths);
    let staged = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(&diff)
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if staged.success() {
        return Ok(false);
    }
    let configured =
        |key: &str| git(repo, &["config", "--get", key], None).is_ok_and(|v| !v.trim().is_empty());
    let mut args: Vec<&str> = Vec::new();
    if !(configured("user.name") && configured("user.email")) {
        args.extend(["-c", "user.name=imgf", "-c", "user.email=imgf@localhost"]);
    }
    args.extend(["commit", "-q", "-m", message, "--only", "--"]);
    args.extend(paths);
    git(repo, &args, None)?;
    Ok(true)
}

/// Whether a failed push was refused because the remote moved on.
pub(crate) fn is_non_fast_forward(err: &str) -> bool {
    [
        "non-fast-forward",
        "fetch first",
        "rejected",
        "failed to update ref",
        "cannot lock ref",
    ]
    .iter()
    .any(|m| err.contains(m))
}

/// Sparse checkouts of source repositories in `DIR/.imgf-cache` (kept out
/// of git): each repository and branch fetched once, on first use, with
/// every path wanted of it.
pub(crate) struct Checkouts<'a> {
    dir: &'a Path,
    /// (URL, branch) → (GitLab?, the paths to check out).
    wanted: BTreeMap<(String, String), (bool, Vec<String>)>,
    fetched: BTreeMap<(String, String), Result<PathBuf, String>>,
    /// Host → the network error it gave, when a host that could not be
    /// reached is not tried again; `None` when every repository is tried.
    down: Option<BTreeMap<String, String>>,
}

impl<'a> Checkouts<'a> {
    /// Checkouts cached in `dir/.imgf-cache`.
    pub(crate) fn new(dir: &'a Path) -> Self {
        Checkouts {
            dir,
            wanted: BTreeMap::new(),
            fetched: BTreeMap::new(),
            down: None,
        }
    }

    /// After a network error, other repositories on the same host are not
    /// tried (offline, every fetch would fail the same way, slowly).
    pub(crate) fn skipping_unreachable_hosts(mut self) -> Self {
        self.down = Some(BTreeMap::new());
        self
    }

    /// `paths` of `branch` of `url` will be read: they are fetched with the
    /// others of the same repository and branch. The first call for a
    /// repository and branch says whether it is on GitLab (which token).
    pub(crate) fn want<'p>(
        &mut self,
        url: &str,
        branch: &str,
        gitlab: bool,
        paths: impl IntoIterator<Item = &'p str>,
    ) {
        let entry = self
            .wanted
            .entry((url.to_string(), branch.to_string()))
            .or_insert_with(|| (gitlab, Vec::new()));
        for p in paths {
            if !entry.1.iter().any(|w| w == p) {
                entry.1.push(p.to_string());
            }
        }
    }

    /// The checkout of `branch` of `url`, fetched on first use, or why it
    /// could not be.
    pub(crate) fn get(&mut self, url: &str, branch: &str) -> &Result<PathBuf, String> {
        let key = (url.to_string(), branch.to_string());
        if !self.fetched.contains_key(&key) {
            let result = self.fetch(url, branch, &key);
            self.fetched.insert(key.clone(), result);
        }
        &self.fetched[&key]
    }

    fn fetch(
        &mut self,
        url: &str,
        branch: &str,
        key: &(String, String),
    ) -> Result<PathBuf, String> {
        let host = host_of(url);
        if let Some(why) = self.down.as_ref().and_then(|d| d.get(&host)) {
            return Err(format!("not tried: {host} was unreachable ({why})"));
        }
        let (gitlab, paths) = self.wanted.get(key).cloned().unwrap_or_default();
        let cache = self
            .dir
            .join(".imgf-cache")
            .join(crate::names::short_hash(&format!("{url}#{branch}")));
        ensure_cache_ignored(self.dir);
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let token = Token::from_env(gitlab);
        let result = fetch_sparse(url, branch, &refs, &cache, token.as_ref());
        if let (Err(why), Some(down)) = (&result, self.down.as_mut()) {
            if is_network_error(why) && !host.is_empty() {
                down.insert(host, why.clone());
            }
        }
        result
    }
}

/// Keeps the fetch cache out of git.
fn ensure_cache_ignored(dir: &Path) {
    let ignore = dir.join(".imgf-cache/.gitignore");
    if !ignore.exists() {
        let _ = std::fs::create_dir_all(dir.join(".imgf-cache"));
        let _ = std::fs::write(ignore, "*\n");
    }
}

/// The host of a git URL (`https://host/…`, `ssh://user@host/…`,
/// `user@host:path`); empty for local paths and `file://`.
fn host_of(url: &str) -> String {
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest,
        None if url.contains(':') && !url.starts_with('/') => url,
        None => return String::new(),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    // A port, or the path of `user@host:path`.
    host.split(':').next().unwrap_or_default().to_string()
}

/// Whether git failed to reach the host at all (offline, DNS, refused).
fn is_network_error(why: &str) -> bool {
    [
        "Could not resolve host",
        "Could not resolve hostname",
        "Temporary failure in name resolution",
        "Failed to connect",
        "Connection refused",
        "Connection timed out",
        "Network is unreachable",
        "No route to host",
        "Operation timed out",
    ]
    .iter()
    .any(|m| why.contains(m))
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(
            super::base64(b"x-access-token:abc"),
            "eC1hY2Nlc3MtdG9rZW46YWJj"
        );
    }

    #[test]
    fn hosts_of_git_urls() {
        assert_eq!(super::host_of("https://github.com/org/a.git"), "github.com");
        assert_eq!(
            super::host_of("https://x:y@gitlab.example:8443/a.git"),
            "gitlab.example"
        );
        assert_eq!(super::host_of("git@github.com:org/a.git"), "github.com");
        assert_eq!(super::host_of("file:///srv/a.git"), "");
        assert_eq!(super::host_of("/srv/a.git"), "");
    }
}
