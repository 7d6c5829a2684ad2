//! State files: what analysis discovered and what was observed at run time.
//!
//! `state/images/<name>.yaml` (one per enrolled image) and
//! `state/base-images/<name>.yaml` (one per discovered base image). Synth
//! reads only the fields it needs and ignores the rest, so state written by
//! newer analyzers or by the old cdk8s tool loads; history fields are the
//! analyzer's business. Values the old tool wrote in odd shapes are accepted:
//! `currentVersion: 0.1` (a number), `currentDigest: None` (a string meaning
//! null).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// `state/images/<name>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageState {
    #[serde(default, deserialize_with = "opt_scalar")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub discovery_status: Option<String>,
    /// Names of the images this one is built on: base-image state names, or
    /// names of other enrolled images.
    #[serde(default)]
    pub base_images: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_version: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_digest: Option<String>,
    /// The `workflow_dispatch` inputs the build workflow declares, when
    /// analysis could read it.
    #[serde(default)]
    pub workflow_inputs: Option<Vec<WorkflowInput>>,
    /// External images (old tool): the Warehouse fields.
    #[serde(default, rename = "repoURL", deserialize_with = "opt_scalar")]
    pub repo_url: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub allow_tags: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub image_selection_strategy: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub tag: Option<String>,
}

/// One `on.workflow_dispatch.inputs` entry of a GitHub workflow.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowInput {
    pub name: String,
    #[serde(default)]
    pub required: bool,
}

/// `state/base-images/<name>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageState {
    #[serde(default, deserialize_with = "opt_scalar")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub full_image: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub registry: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub tag: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub digest: Option<String>,
    /// The old tool's tag filter (a regex, often double-escaped).
    #[serde(default, deserialize_with = "opt_scalar")]
    pub allow_tags: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub image_selection_strategy: Option<String>,
    #[serde(default, rename = "repoURL", deserialize_with = "opt_scalar")]
    pub repo_url: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_digest: Option<String>,
}

/// A scalar of any type as a string; null, `~`, empty and the old tool's
/// literal `None` as absent.
fn opt_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, number, boolean or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(match v.trim() {
                "" | "None" | "null" | "~" => None,
                t => Some(t.to_string()),
            })
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            self.visit_str(&v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_option(V)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn reads_the_old_tools_odd_values() {
        let text = "name: n\ncurrentDigest: None\ncurrentVersion: 0.1\nlastUpdated: None # c\nbaseImages:\n  - a  # see\n";
        let s: ImageState = crate::config::parse::parse(Path::new("x.yaml"), text).unwrap();
        assert_eq!(s.current_digest, None);
        assert_eq!(s.current_version.as_deref(), Some("0.1"));
        assert_eq!(s.base_images, Some(vec!["a".to_string()]));
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let text = "name: n\nbaseImages: {a: 1}\n";
        let d = crate::config::parse::parse::<ImageState>(Path::new("x.yaml"), text).unwrap_err();
        assert!(d.message.contains("baseImages"), "{}", d.message);
        assert_eq!(d.location.map(|l| l.line), Some(2));
    }
}
