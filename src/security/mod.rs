//! Security gates on base images: what a scan found, what the gate and the
//! CVE fast path decide from it, and where scans are recorded.
//!
//! Scans live in `state/scans/sha256-<hex>.yaml`, one file per scanned
//! digest (bases and builds alike), with each base gate's decision on that
//! digest. The decisions are pure functions of recorded findings:
//!
//! * **gate** ([`gate`]): a new base digest is *held* when it has more
//!   distinct vulnerabilities at `failOn` than the most vulnerable digest
//!   still in use by the images built on that base; the same
//!   number passes (holding it would keep the dependents on a base that is
//!   just as vulnerable); nothing in use to compare with passes. All the
//!   digests compared are scanned in the same Job with the same database.
//! * **CVE fix** ([`cve_fix`]): a new digest is a fix for an image when a
//!   vulnerability at `failOn` of the digest the image was last built on is
//!   gone from it.
//!
//! A scan that cannot be made or read is an error, and an error holds (the
//! Job fails; nothing is recorded).

pub mod trivy;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::security::Severity;
use crate::diagnostic::{Diagnostic, Error};
use trivy::{Counts, Findings};

/// `state/scans/<digest>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanRecord {
    pub digest: String,
    /// The repository scanned (`docker.io/library/node`).
    pub repo: String,
    pub scanned_at: String,
    /// The scanner image that made the scan.
    pub scanner: String,
    pub counts: Counts,
    /// IDs of the critical vulnerabilities, sorted.
    #[serde(default)]
    pub critical: Vec<String>,
    /// IDs of the high vulnerabilities, sorted.
    #[serde(default)]
    pub high: Vec<String>,
    /// Each base gate's decision on this digest, by base name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gates: BTreeMap<String, GateRecord>,
}

impl ScanRecord {
    /// A record of `findings` for `repo@digest`.
    pub fn new(digest: &str, repo: &str, scanner: &str, at: &str, f: &Findings) -> ScanRecord {
        ScanRecord {
            digest: digest.to_string(),
            repo: repo.to_string(),
            scanned_at: at.to_string(),
            scanner: scanner.to_string(),
            counts: f.counts.clone(),
            critical: f.critical.iter().cloned().collect(),
            high: f.high.iter().cloned().collect(),
            gates: BTreeMap::new(),
        }
    }

    /// The recorded IDs at or above `sev`.
    pub fn ids(&self, sev: Severity) -> BTreeSet<String> {
        let mut ids: BTreeSet<String> = self.critical.iter().cloned().collect();
        if sev == Severity::High {
            ids.extend(self.high.iter().cloned());
        }
        ids
    }
}

/// A gate's decision on one digest of one base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GateRecord {
    pub decision: Decision,
    /// Why, in a sentence.
    pub reason: String,
    /// The digests in use it was compared with.
    #[serde(default)]
    pub compared_with: Vec<String>,
    pub at: String,
}

/// What a gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// No worse than what is in use: dependents may rebuild on it.
    Passed,
    /// Worse than what is in use: held in the soak Stage.
    Held,
}

/// The gate's decision on a new digest with findings `new`, compared with
/// the digests in use and their findings (scanned in the same run).
pub fn gate(new: &Findings, in_use: &[(String, Findings)], sev: Severity) -> (Decision, String) {
    let n = new.ids(sev).len();
    let level = sev.as_str().to_ascii_lowercase();
    let found = format!(
        "{n} {level} {}",
        if n == 1 {
            "vulnerability"
        } else {
            "vulnerabilities"
        }
    );
    let worst = in_use
        .iter()
        .map(|(d, f)| (f.ids(sev).len(), d))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)));
    match worst {
        None => (
            Decision::Passed,
            format!("{found}; no digest in use to compare with"),
        ),
        Some((m, d)) if n > m => (
            Decision::Held,
            format!("{found}, more than the {m} of {d} in use"),
        ),
        Some((m, d)) => (
            Decision::Passed,
            format!("{found}, no more than the {m} of {d} in use"),
        ),
    }
}

/// The vulnerabilities at `sev` of `built_on` that `new` no longer has,
/// when `new` has none that `built_on` has not (its IDs are a strict subset
/// of `built_on`'s): non-empty exactly when `new` is a CVE fix for an image
/// built on `built_on` — it fixes at least one and introduces none. A digest
/// that swaps one critical for another is no fix.
pub fn cve_fix(built_on: &ScanRecord, new: &ScanRecord, sev: Severity) -> Vec<String> {
    if !introduced(built_on, new, sev).is_empty() {
        return Vec::new();
    }
    let now = new.ids(sev);
    built_on
        .ids(sev)
        .into_iter()
        .filter(|id| !now.contains(id))
        .collect()
}

/// The vulnerabilities at `sev` of `new` that `built_on` has not.
pub fn introduced(built_on: &ScanRecord, new: &ScanRecord, sev: Severity) -> Vec<String> {
    let old = built_on.ids(sev);
    new.ids(sev)
        .into_iter()
        .filter(|id| !old.contains(id))
        .collect()
}

/// Whether the scan record of `digest` in `dir` says the gate of `base`
/// held it. A missing or unreadable record says nothing: not held.
pub fn held(dir: &Path, base: &str, digest: &str) -> bool {
    if crate::values::sha256_digest(digest).is_err() {
        return false;
    }
    matches!(
        read_scan(&scan_path(dir, digest)),
        Ok(Some(r)) if r.gates.get(base).is_some_and(|g| g.decision == Decision::Held)
    )
}

/// The directory of scan records beside the other state directories.
pub fn scans_dir(store: &crate::state::store::Store) -> PathBuf {
    store
        .images
        .parent()
        .map_or_else(|| PathBuf::from("scans"), |p| p.join("scans"))
}

/// The record file of `digest` (a checked `sha256:` digest).
pub fn scan_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join(format!("{}.yaml", digest.replace(':', "-")))
}

/// The record at `path`, if there is one.
pub fn read_scan(path: &Path) -> Result<Option<ScanRecord>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    crate::config::parse::parse(path, &text)
        .map(Some)
        .map_err(Error::input)
}

/// Every record in `dir`, by digest; files that do not read are skipped
/// with a warning in `warnings` (a scan record is information: a broken one
/// never stops a run).
pub fn read_scans(
    dir: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Result<BTreeMap<String, ScanRecord>, Error> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot list", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    for p in paths {
        match read_scan(&p) {
            Ok(Some(r)) => {
                out.insert(r.digest.clone(), r);
            }
            Ok(None) => {}
            Err(Error::Input(d)) => warnings.extend(d.into_iter().map(|mut d| {
                d.severity = crate::diagnostic::Severity::Warning;
                d.help = Some(format!(
                    "this scan record is ignored; the next scan of {} rewrites it",
                    p.display()
                ));
                d
            })),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Writes `record` to its file in `dir` when the text changes; returns the
/// path written.
pub fn write_scan(dir: &Path, record: &ScanRecord) -> Result<Option<PathBuf>, Error> {
    let path = scan_path(dir, &record.digest);
    let mut text = String::from("# A vulnerability scan, written by imgf (state/scans).\n");
    text.push_str(
        &crate::emit::yaml::to_string(record)
            .map_err(|e| Error::Internal(format!("cannot write a scan record: {e}")))?,
    );
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(None);
    }
    crate::fs::write_atomic(&path, text.as_bytes())?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(critical: &[&str], high: &[&str]) -> Findings {
        Findings {
            artifact: None,
            counts: Counts {
                critical: critical.len(),
                high: high.len(),
                ..Counts::default()
            },
            critical: critical
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            high: high.iter().map(std::string::ToString::to_string).collect(),
        }
    }

    #[test]
    fn more_is_held_the_same_passes() {
        let old = vec![("sha256:a".to_string(), findings(&["CVE-1"], &[]))];
        let (d, why) = gate(
            &findings(&["CVE-1", "CVE-2"], &[]),
            &old,
            Severity::Critical,
        );
        assert_eq!(d, Decision::Held, "{why}");
        let (d, _) = gate(&findings(&["CVE-3"], &["CVE-9"]), &old, Severity::Critical);
        assert_eq!(d, Decision::Passed);
        let (d, _) = gate(&findings(&["CVE-3"], &["CVE-9"]), &old, Severity::High);
        assert_eq!(d, Decision::Held);
        let (d, _) = gate(&findings(&["CVE-3"], &[]), &[], Severity::Critical);
        assert_eq!(d, Decision::Passed);
    }

    #[test]
    fn the_worst_digest_in_use_is_the_bar() {
        let in_use = vec![
            ("sha256:a".to_string(), findings(&[], &[])),
            ("sha256:b".to_string(), findings(&["CVE-1", "CVE-2"], &[])),
        ];
        let (d, why) = gate(
            &findings(&["CVE-1", "CVE-2"], &[]),
            &in_use,
            Severity::Critical,
        );
        assert_eq!(d, Decision::Passed);
        assert!(why.contains("sha256:b"), "{why}");
    }

    #[test]
    fn a_fix_removes_a_vulnerability_of_the_built_on_digest_and_adds_none() {
        let rec = |c: &[&str]| ScanRecord::new("sha256:x", "r", "trivy", "t", &findings(c, &[]));
        assert_eq!(
            cve_fix(
                &rec(&["CVE-1", "CVE-2"]),
                &rec(&["CVE-2", "CVE-3"]),
                Severity::Critical
            ),
            Vec::<String>::new(),
            "a swap is no fix"
        );
        assert_eq!(
            cve_fix(
                &rec(&["CVE-1", "CVE-2"]),
                &rec(&["CVE-2"]),
                Severity::Critical
            ),
            vec!["CVE-1".to_string()]
        );
        assert_eq!(
            introduced(&rec(&["CVE-1"]), &rec(&["CVE-2"]), Severity::Critical),
            vec!["CVE-2".to_string()]
        );
        assert!(cve_fix(&rec(&["CVE-1"]), &rec(&["CVE-1"]), Severity::Critical).is_empty());
        assert!(cve_fix(&rec(&[]), &rec(&[]), Severity::Critical).is_empty());
    }
}
