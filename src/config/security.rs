//! `security:` and `notifications:` in settings.yaml: the scanner and
//! signature gates on new base digests, the CVE fast path, and the messages
//! sent when a rebuild is dispatched, fails, or is started by a person.
//!
//! ```yaml
//! security:
//!   scanner: {image: aquasec/trivy:0.58.1, failOn: CRITICAL}
//!   signatures:
//!     - {match: "gcr.io/distroless/*", identity: "keyless@distroless.iam.gserviceaccount.com",
//!        issuer: "https://accounts.google.com"}
//!   cveFastPath: true
//! notifications:
//!   - {name: platform, type: slack, webhookSecret: {name: slack-webhook, key: url},
//!      on: [rebuild, failure, emergency]}
//! ```
//!
//! Every value here ends up inside a generated Job (an argument vector, never
//! shell text) or a Kargo expression (an escaped literal); the checks below
//! refuse what Argo Rollouts would read as a template (`{{`, `}}`) and what
//! no legitimate value holds (whitespace, quotes, control characters).

use serde::{Deserialize, Serialize};

use crate::config::settings::SecretRef;

/// The cosign image used when `security.cosignImage` is not set.
pub const DEFAULT_COSIGN_IMAGE: &str = "ghcr.io/sigstore/cosign/cosign:v2.4.1";

/// `security:` as written.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecurityFile {
    /// Scan each new base digest (held when it has more vulnerabilities at
    /// `failOn` than the base in use) and each new build (recorded).
    pub scanner: Option<ScannerFile>,
    /// Upstream bases whose signatures are verified with cosign (keyless):
    /// the first rule whose `match` fits the base's repository applies.
    #[serde(default)]
    pub signatures: Vec<SignatureFile>,
    /// A base update that fixes a critical CVE of the digest an image was
    /// last built on skips that image's `rebuildDelay`. Needs `scanner`.
    #[serde(default)]
    pub cve_fast_path: bool,
    /// The cosign image the signature Jobs run, pinned by tag or digest
    /// (default `ghcr.io/sigstore/cosign/cosign:v2.4.1`).
    pub cosign_image: Option<String>,
}

/// `security.scanner`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScannerFile {
    /// The Trivy image, pinned by tag or digest (`aquasec/trivy:0.58.1`);
    /// it must contain `/bin/sh`.
    pub image: String,
    /// The lowest severity counted (default `CRITICAL`; `HIGH` counts high
    /// and critical).
    #[serde(default)]
    pub fail_on: Severity,
    /// A mirror of Trivy's vulnerability database (`--db-repository`).
    pub db_repository: Option<String>,
}

/// The lowest severity a gate counts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    #[default]
    Critical,
    High,
}

impl Severity {
    /// As Trivy writes it, and as the Jobs take it (`--fail-on`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
        }
    }

    /// Whether a finding of Trivy severity `s` counts.
    pub fn counts(self, s: &str) -> bool {
        match self {
            Severity::Critical => s == "CRITICAL",
            Severity::High => s == "CRITICAL" || s == "HIGH",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        match s {
            "CRITICAL" => Ok(Severity::Critical),
            "HIGH" => Ok(Severity::High),
            _ => Err(format!("`{s}` is not a severity: CRITICAL or HIGH")),
        }
    }
}

/// One `security.signatures` rule.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// The repositories it applies to: `*` matches within one path segment,
    /// `**` across segments (`gcr.io/distroless/*`).
    #[serde(rename = "match")]
    pub pattern: String,
    /// The certificate identity cosign expects (`--certificate-identity`).
    pub identity: String,
    /// The OIDC issuer cosign expects (`--certificate-oidc-issuer`).
    pub issuer: String,
}

/// One `notifications` entry.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NotificationFile {
    /// A DNS label: it names the promotion steps (`notify-<name>-<event>`).
    pub name: String,
    /// The message format.
    #[serde(rename = "type")]
    pub kind: NotificationKind,
    /// The Secret key that holds the webhook URL (URLs never appear in the
    /// manifests).
    pub webhook_secret: SecretRef,
    /// What is announced.
    pub on: Vec<NotificationEvent>,
}

/// How a notification is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// A Slack incoming webhook: `{"text": …}`.
    Slack,
    /// A Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams,
    /// Any endpoint: a flat JSON object (`source`, `event`, `image`, …).
    Webhook,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Slack => "slack",
            NotificationKind::Teams => "teams",
            NotificationKind::Webhook => "webhook",
        }
    }
}

/// When a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationEvent {
    /// A rebuild was dispatched automatically.
    Rebuild,
    /// A rebuild's dispatch failed.
    Failure,
    /// A person promoted a rebuild (`imgf emergency`'s script).
    Emergency,
}

impl NotificationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::Rebuild => "rebuild",
            NotificationEvent::Failure => "failure",
            NotificationEvent::Emergency => "emergency",
        }
    }
}

/// `security:` resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySettings {
    pub scanner: Option<Scanner>,
    pub signatures: Vec<SignatureRule>,
    pub cve_fast_path: bool,
    pub cosign_image: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanner {
    pub image: String,
    pub fail_on: Severity,
    pub db_repository: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRule {
    pub pattern: String,
    pub identity: String,
    pub issuer: String,
}

impl SecuritySettings {
    /// The first signature rule whose `match` fits `repo_url`
    /// (`docker.io/library/node`), with its index.
    pub fn signature_rule(&self, repo_url: &str) -> Option<(usize, &SignatureRule)> {
        self.signatures
            .iter()
            .enumerate()
            .find(|(_, r)| glob_match(&r.pattern, repo_url))
    }

    /// Whether the fast path is on (it needs the scanner's records).
    pub fn fast_path(&self) -> bool {
        self.cve_fast_path && self.scanner.is_some()
    }
}

/// A notification resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub name: String,
    pub kind: NotificationKind,
    pub secret: SecretRef,
    /// In the order written, without duplicates.
    pub on: Vec<NotificationEvent>,
}

/// `*` matches any run of characters but `/`, `**` any run at all; every
/// other character matches itself.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8], i: usize, j: usize, memo: &mut [Option<bool>]) -> bool {
        let key = i * (s.len() + 1) + j;
        if let Some(v) = memo[key] {
            return v;
        }
        let v = if i == p.len() {
            j == s.len()
        } else if p[i] == b'*' {
            let double = p.get(i + 1) == Some(&b'*');
            let next = if double { i + 2 } else { i + 1 };
            let mut k = j;
            loop {
                if go(p, s, next, k, memo) {
                    break true;
                }
                if k == s.len() || (!double && s[k] == b'/') {
                    break false;
                }
                k += 1;
            }
        } else {
            j < s.len() && p[i] == s[j] && go(p, s, i + 1, j + 1, memo)
        };
        memo[key] = Some(v);
        v
    }
    let p = pattern.as_bytes();
    let s = s.as_bytes();
    // Classic backtracking over the two wildcards, memoised by position.
    let mut memo = vec![None; (p.len() + 1) * (s.len() + 1)];
    go(p, s, 0, 0, &mut memo)
}

/// A value baked into a generated Job's arguments: non-empty, no
/// whitespace, quotes, control characters or template braces.
pub(crate) fn job_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '\\'))
    {
        return Err(format!("it contains {}", crate::values::describe_char(c)));
    }
    if s.contains("{{") || s.contains("}}") {
        return Err("it contains `{{` or `}}`, which Argo Rollouts reads as a template".into());
    }
    if s.len() > 1024 {
        return Err("it is longer than 1024 characters".into());
    }
    Ok(())
}

/// A signature rule's `match`: a repository with `*` wildcards
/// (`gcr.io/distroless/*`, `ghcr.io/org/**`).
pub(crate) fn repo_pattern(s: &str) -> Result<(), String> {
    job_value(s)?;
    if s.contains("***") {
        return Err("`***` is not a wildcard: use `*` (one path segment) or `**` (any)".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/:*".contains(c))
    {
        return Err(
            "a repository pattern is lowercase letters, digits, `.`, `_`, `-`, `/`, `:` and `*`, like `gcr.io/distroless/*`"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments() {
        assert!(glob_match(
            "gcr.io/distroless/*",
            "gcr.io/distroless/static"
        ));
        assert!(!glob_match("gcr.io/distroless/*", "gcr.io/distroless/a/b"));
        assert!(glob_match("gcr.io/**", "gcr.io/distroless/a/b"));
        assert!(glob_match(
            "docker.io/library/node",
            "docker.io/library/node"
        ));
        assert!(!glob_match(
            "docker.io/library/node",
            "docker.io/library/nodes"
        ));
        assert!(glob_match("*/library/*", "docker.io/library/node"));
        assert!(!glob_match("gcr.io/*", "gcr.io"));
    }

    #[test]
    fn severities_count_upwards() {
        assert!(Severity::Critical.counts("CRITICAL"));
        assert!(!Severity::Critical.counts("HIGH"));
        assert!(Severity::High.counts("HIGH"));
        assert!(!Severity::High.counts("MEDIUM"));
    }

    #[test]
    fn job_values_refuse_templates_and_spaces() {
        assert!(job_value("https://accounts.google.com").is_ok());
        assert!(job_value("a{{args.x}}").is_err());
        assert!(job_value("a b").is_err());
        assert!(job_value("").is_err());
        assert!(repo_pattern("gcr.io/distroless/*").is_ok());
        assert!(repo_pattern("GCR.io/x").is_err());
    }
}
