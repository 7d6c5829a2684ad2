//! Trivy's JSON report (`trivy image --format json`, `SchemaVersion` 2): the
//! vulnerabilities found, by severity. Only the fields read here are
//! modelled; everything else in the report is ignored.
//!
//! ```json
//! {"SchemaVersion": 2, "ArtifactName": "docker.io/library/node@sha256:…",
//!  "ArtifactType": "container_image",
//!  "Results": [{"Target": "…", "Class": "os-pkgs", "Type": "debian",
//!    "Vulnerabilities": [{"VulnerabilityID": "CVE-…", "PkgName": "…",
//!      "InstalledVersion": "…", "FixedVersion": "…", "Severity": "CRITICAL"}]}]}
//! ```
//!
//! `Results` and `Vulnerabilities` may be absent or `null`: no findings.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::security::Severity;

#[derive(Debug, Deserialize)]
struct Report {
    #[serde(rename = "SchemaVersion")]
    schema_version: u32,
    #[serde(rename = "ArtifactName", default)]
    artifact_name: Option<String>,
    #[serde(rename = "Results", default)]
    results: Option<Vec<Target>>,
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(rename = "Vulnerabilities", default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Debug, Deserialize)]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    id: String,
    #[serde(rename = "Severity", default)]
    severity: Option<String>,
}

/// How many distinct vulnerabilities of each severity a report holds (a CVE
/// found in two packages counts once, at its highest severity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
}

/// What one report found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// `ArtifactName`: what was scanned (`repo@sha256:…`).
    pub artifact: Option<String>,
    pub counts: Counts,
    /// The IDs of critical vulnerabilities, sorted.
    pub critical: BTreeSet<String>,
    /// The IDs of high vulnerabilities, sorted.
    pub high: BTreeSet<String>,
}

impl Findings {
    /// The IDs at or above `sev`.
    pub fn ids(&self, sev: Severity) -> BTreeSet<String> {
        match sev {
            Severity::Critical => self.critical.clone(),
            Severity::High => self.critical.union(&self.high).cloned().collect(),
        }
    }
}

/// A report's findings; an error names what is wrong with the text.
pub fn parse(text: &str) -> Result<Findings, String> {
    let report: Report =
        serde_json::from_str(text).map_err(|e| format!("not a Trivy JSON report: {e}"))?;
    if report.schema_version != 2 {
        return Err(format!(
            "Trivy report SchemaVersion {} (imgf reads version 2)",
            report.schema_version
        ));
    }
    // The highest severity of each ID.
    let mut by_id: std::collections::BTreeMap<String, u8> = std::collections::BTreeMap::default();
    for t in report.results.unwrap_or_default() {
        for v in t.vulnerabilities.unwrap_or_default() {
            let rank = match v.severity.as_deref() {
                Some("CRITICAL") => 4,
                Some("HIGH") => 3,
                Some("MEDIUM") => 2,
                Some("LOW") => 1,
                _ => 0,
            };
            let e = by_id.entry(v.id).or_insert(rank);
            *e = (*e).max(rank);
        }
    }
    let mut f = Findings {
        artifact: report.artifact_name,
        ..Findings::default()
    };
    for (id, rank) in by_id {
        match rank {
            4 => {
                f.counts.critical += 1;
                f.critical.insert(id);
            }
            3 => {
                f.counts.high += 1;
                f.high.insert(id);
            }
            2 => f.counts.medium += 1,
            1 => f.counts.low += 1,
            _ => f.counts.unknown += 1,
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_ids_at_their_highest_severity() {
        let text = r#"{"SchemaVersion":2,"ArtifactName":"x@sha256:1","Results":[
          {"Target":"a","Vulnerabilities":[
            {"VulnerabilityID":"CVE-1","Severity":"CRITICAL"},
            {"VulnerabilityID":"CVE-1","Severity":"HIGH"},
            {"VulnerabilityID":"CVE-2","Severity":"HIGH"},
            {"VulnerabilityID":"CVE-3","Severity":"LOW"}]},
          {"Target":"b","Vulnerabilities":null},
          {"Target":"c"}]}"#;
        let f = parse(text).unwrap();
        assert_eq!(f.counts.critical, 1);
        assert_eq!(f.counts.high, 1);
        assert_eq!(f.counts.low, 1);
        assert_eq!(f.ids(Severity::High).len(), 2);
        assert_eq!(f.artifact.as_deref(), Some("x@sha256:1"));
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"SchemaVersion":1}"#).is_err());
        assert!(parse("not json").is_err());
        assert_eq!(
            parse(r#"{"SchemaVersion":2}"#).unwrap(),
            Findings::default()
        );
    }
}
