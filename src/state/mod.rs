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

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::config::parse::Value;

pub mod store;
pub mod write;

/// `state/images/<name>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageState {
    #[serde(default, deserialize_with = "opt_scalar")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub enrolled_at: Option<String>,
    /// `success`, `failed`, `pending` or `external`.
    #[serde(default, deserialize_with = "opt_scalar")]
    pub discovery_status: Option<String>,
    /// Why the last discovery failed.
    #[serde(default, deserialize_with = "opt_scalar")]
    pub discovery_error: Option<String>,
    /// When the discovered base images last changed.
    #[serde(default, deserialize_with = "opt_scalar")]
    pub last_discovery: Option<String>,
    /// Names of the images this one is built on: base-image state names, or
    /// names of other enrolled images.
    #[serde(default, deserialize_with = "opt_list")]
    pub base_images: Vec<String>,
    /// FROM lines analysis could not resolve (`line N: FROM x: reason`).
    #[serde(default, deserialize_with = "opt_list")]
    pub unresolved: Vec<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_version: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_digest: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub last_built: Option<String>,
    /// The last builds recorded, newest last (at most 10): how often the
    /// image is built.
    #[serde(default, deserialize_with = "opt_list")]
    pub build_history: Vec<Build>,
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
    /// Emergency rebuilds and other recorded decisions.
    #[serde(default, deserialize_with = "opt_list")]
    pub audit: Vec<AuditEntry>,
    /// Anything else the file holds (kept as it is).
    #[serde(skip)]
    pub extra: Extra,
}

/// Keys of a state file that imgf does not model, in file order.
pub type Extra = Vec<(String, Value)>;

/// One `on.workflow_dispatch.inputs` entry of a GitHub workflow.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowInput {
    pub name: String,
    #[serde(default)]
    pub required: bool,
}

/// One build of a managed image, as the analysis Job recorded it
/// (`imgf analyze --tag … --digest …`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Build {
    /// When it was recorded: shortly after Kargo's Warehouse saw the build.
    #[serde(default, deserialize_with = "opt_scalar")]
    pub at: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub tag: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub digest: Option<String>,
}

/// A recorded decision (an emergency rebuild, for now).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub action: String,
    pub at: String,
    pub actor: String,
    pub reason: String,
    /// The images the entry concerns: in a state file, that image alone
    /// (entries older versions wrote list every image the emergency
    /// rebuilt); in the plan `emergency --format json` prints, every one.
    #[serde(default)]
    pub images: Vec<String>,
    /// What was asked for: `image NAME` or `base NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How many images the emergency rebuilt in all.
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub affected: Option<usize>,
    /// `imgf emergency --allow-unverified`: the newest Freight of each base
    /// was taken whether or not the security gate passed it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_unverified: bool,
}

/// `state/base-images/<name>.yaml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageState {
    #[serde(default, deserialize_with = "opt_scalar")]
    pub name: Option<String>,
    /// The reference as a Dockerfile wrote it (`node:22-bookworm-slim`).
    #[serde(default, deserialize_with = "opt_scalar")]
    pub full_image: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub registry: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub tag: Option<String>,
    /// The digest a FROM line pins, if any.
    #[serde(default, deserialize_with = "opt_scalar")]
    pub digest: Option<String>,
    /// A regex of the watched tag (the old tool's, often double-escaped).
    #[serde(default, deserialize_with = "opt_scalar")]
    pub allow_tags: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub image_selection_strategy: Option<String>,
    #[serde(default, rename = "repoURL", deserialize_with = "opt_scalar")]
    pub repo_url: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub first_discovered: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub last_checked: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub current_digest: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub previous_digest: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub last_updated: Option<String>,
    /// When each dependent may rebuild for the current digest.
    #[serde(default)]
    pub rebuild_eligible_at: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    pub metadata: Option<Value>,
    /// The last digest changes, newest last (at most 10).
    #[serde(default, deserialize_with = "opt_list")]
    pub update_history: Vec<Update>,
    #[serde(skip)]
    pub extra: Extra,
}

impl BaseImageState {
    /// The repository watched, `registry/repository`, with the key it was
    /// read from: `repoURL` when present, else `registry` and `repository`
    /// joined (`repository` named). `None` when the file has neither.
    pub fn watched_repo_url(&self) -> Option<(String, &'static str)> {
        match (&self.repo_url, &self.registry, &self.repository) {
            (Some(u), _, _) => Some((u.clone(), "repoURL")),
            (None, Some(r), Some(p)) => Some((format!("{r}/{p}"), "repository")),
            _ => None,
        }
    }
}

/// One observed digest change of a base image.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    #[serde(default, deserialize_with = "opt_scalar")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub previous_digest: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    pub at: Option<String>,
}

/// A kind of state file: the keys it models; every other key is kept in
/// `extra`, so someone's data survives a rewrite.
pub trait StateDoc: serde::de::DeserializeOwned + Send {
    /// The keys this type models.
    const KEYS: &'static [&'static str];
    /// Keeps the keys it does not model.
    fn set_extra(&mut self, extra: Extra);
    /// Every timestamp the state holds, with the top-level key it is under.
    fn timestamps(&self) -> Vec<(&'static str, &str)>;
}

impl StateDoc for ImageState {
    const KEYS: &'static [&'static str] = &IMAGE_KEYS;
    fn set_extra(&mut self, extra: Extra) {
        self.extra = extra;
    }
    fn timestamps(&self) -> Vec<(&'static str, &str)> {
        let top = [
            ("enrolledAt", &self.enrolled_at),
            ("lastDiscovery", &self.last_discovery),
            ("lastBuilt", &self.last_built),
        ];
        let builds = self.build_history.iter().map(|b| ("buildHistory", &b.at));
        top.into_iter()
            .chain(builds)
            .filter_map(|(k, v)| Some((k, v.as_deref()?)))
            .chain(self.audit.iter().map(|a| ("audit", a.at.as_str())))
            .collect()
    }
}

impl StateDoc for BaseImageState {
    const KEYS: &'static [&'static str] = &BASE_KEYS;
    fn set_extra(&mut self, extra: Extra) {
        self.extra = extra;
    }
    fn timestamps(&self) -> Vec<(&'static str, &str)> {
        let top = [
            ("firstDiscovered", &self.first_discovered),
            ("lastChecked", &self.last_checked),
            ("lastUpdated", &self.last_updated),
        ];
        let updates = self.update_history.iter().map(|u| ("updateHistory", &u.at));
        let eligible = self
            .rebuild_eligible_at
            .iter()
            .flat_map(|m| m.values())
            .map(|v| ("rebuildEligibleAt", v));
        top.into_iter()
            .chain(updates)
            .chain(eligible)
            .filter_map(|(k, v)| Some((k, v.as_deref()?)))
            .collect()
    }
}

/// Top-level keys of an image state that the cdk8s app wrote and imgf does
/// not read (`enrollment:`, its copy of the images.yaml entry): known, so
/// never taken for a typo, and kept in `extra` like any other.
pub const LEGACY_KEYS: [&str; 1] = ["enrollment"];

/// The keys each state type models; the rest go to `extra`.
pub const IMAGE_KEYS: [&str; 17] = [
    "name",
    "enrolledAt",
    "discoveryStatus",
    "discoveryError",
    "lastDiscovery",
    "baseImages",
    "unresolved",
    "currentVersion",
    "currentDigest",
    "lastBuilt",
    "buildHistory",
    "workflowInputs",
    "repoURL",
    "allowTags",
    "imageSelectionStrategy",
    "tag",
    "audit",
];
pub const BASE_KEYS: [&str; 17] = [
    "name",
    "fullImage",
    "registry",
    "repository",
    "tag",
    "digest",
    "allowTags",
    "imageSelectionStrategy",
    "repoURL",
    "firstDiscovered",
    "lastChecked",
    "currentDigest",
    "previousDigest",
    "lastUpdated",
    "rebuildEligibleAt",
    "metadata",
    "updateHistory",
];

/// The top-level keys of a state file that its type does not model, as a
/// read records them: each with its value when the read keeps them (to
/// write them back), by name only otherwise.
pub type Unknown = Vec<(String, Option<Value>)>;

/// A state document and the top-level keys its type does not model, read
/// in one pass: the keys are recorded as the mapping is deserialised (a
/// key the type models goes to it, any other string key is recorded, with
/// its value when `VALUES`; a key that is not a string, like `1:`, is
/// skipped as the type itself would skip it).
pub struct WithExtra<T, const VALUES: bool>(pub T, pub Unknown);

impl<'de, T: StateDoc, const VALUES: bool> Deserialize<'de> for WithExtra<T, VALUES> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut extra = Vec::new();
        let data = T::deserialize(extra::Recording {
            inner: d,
            known: T::KEYS,
            values: VALUES,
            extra: &mut extra,
        })?;
        Ok(WithExtra(data, extra))
    }
}

/// The deserializer adapter behind [`WithExtra`].
mod extra {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

    use super::{Unknown, Value};

    /// Deserialises as `inner` does, except that the mapping handed to a
    /// struct's visitor leaves out (and records) the keys `known` lacks.
    pub(super) struct Recording<'x, D> {
        pub(super) inner: D,
        pub(super) known: &'static [&'static str],
        pub(super) values: bool,
        pub(super) extra: &'x mut Unknown,
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for Recording<'_, D> {
        type Error = D::Error;

        fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.inner.deserialize_any(v)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            self.inner.deserialize_struct(
                name,
                fields,
                Struct {
                    visitor,
                    known: self.known,
                    values: self.values,
                    extra: self.extra,
                },
            )
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    /// The struct's visitor, given a filtered mapping; anything else it is
    /// handed as it is (so errors read as they did).
    struct Struct<'x, V> {
        visitor: V,
        known: &'static [&'static str],
        values: bool,
        extra: &'x mut Unknown,
    }

    impl<'de, V: Visitor<'de>> Visitor<'de> for Struct<'_, V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            self.visitor.expecting(f)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
            self.visitor.visit_map(Filtered {
                map,
                known: self.known,
                values: self.values,
                extra: self.extra,
            })
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
            self.visitor.visit_seq(seq)
        }
        fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
            self.visitor.visit_unit()
        }
        fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
            self.visitor.visit_none()
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
            self.visitor.visit_bool(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
            self.visitor.visit_i64(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
            self.visitor.visit_u64(v)
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
            self.visitor.visit_i128(v)
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
            self.visitor.visit_u128(v)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<V::Value, E> {
            self.visitor.visit_f64(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
            self.visitor.visit_str(v)
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
            self.visitor.visit_string(v)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
            self.visitor.visit_some(d)
        }
        fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
            self.visitor.visit_newtype_struct(d)
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
            self.visitor.visit_enum(data)
        }
    }

    /// A mapping that passes on the keys in `known` and records the rest.
    struct Filtered<'x, A> {
        map: A,
        known: &'static [&'static str],
        values: bool,
        extra: &'x mut Unknown,
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for Filtered<'_, A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            loop {
                let Some(key) = self.map.next_key::<Value>()? else {
                    return Ok(None);
                };
                // A tagged key (`!t name:`) is its text to the type, as
                // a field name is read as a string whatever its tag.
                let field = match &key {
                    Value::Tagged(t) => t.value.as_str(),
                    k => k.as_str(),
                };
                match (field, &key) {
                    (Some(k), _) if self.known.contains(&k) => {
                        let k: de::value::StrDeserializer<'_, A::Error> = k.into_deserializer();
                        return seed.deserialize(k).map(Some);
                    }
                    (_, Value::String(k)) => {
                        // As the mapping the key would be part of says.
                        if self.extra.iter().any(|(e, _)| e == k) {
                            return Err(de::Error::custom(format!(
                                "duplicate entry with key {k:?}"
                            )));
                        }
                        let k = k.clone();
                        let v = if self.values {
                            Some(self.map.next_value::<Value>()?)
                        } else {
                            self.map.next_value::<de::IgnoredAny>()?;
                            None
                        };
                        self.extra.push((k, v));
                    }
                    // A list or mapping as a key cannot name a field.
                    (_, Value::Sequence(_)) => {
                        return Err(de::Error::invalid_type(
                            de::Unexpected::Seq,
                            &"field identifier",
                        ))
                    }
                    (_, Value::Mapping(_)) => {
                        return Err(de::Error::invalid_type(
                            de::Unexpected::Map,
                            &"field identifier",
                        ))
                    }
                    // Null, a boolean, a number: not a field, not kept.
                    _ => {
                        self.map.next_value::<de::IgnoredAny>()?;
                    }
                }
            }
        }

        fn next_value_seed<S: DeserializeSeed<'de>>(
            &mut self,
            seed: S,
        ) -> Result<S::Value, A::Error> {
            self.map.next_value_seed(seed)
        }
    }
}

/// Reads the keys of a state file that `known` does not list.
pub fn extra_keys(
    path: &std::path::Path,
    text: &str,
    known: &[&str],
) -> Result<Extra, crate::diagnostic::Diagnostic> {
    let value: Value = crate::config::parse::parse_value(path, text)?;
    let Value::Mapping(map) = value else {
        return Ok(Vec::new());
    };
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| {
            let k = k.as_str()?.to_string();
            (!known.contains(&k.as_str())).then_some((k, v))
        })
        .collect())
}

/// A list that may be written as `null` (absent and null read as empty).
fn opt_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A scalar of any type as a string; null, `~`, empty and the old tool's
/// literal `None` as absent.
/// A count, read as [`opt_scalar`] reads a scalar (so the fast reader,
/// which hands numbers over as text, reads it too).
fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    match opt_scalar(d)? {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a count, found `{t}`"))),
    }
}

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
        fn visit_seq<A: de::SeqAccess<'de>>(self, _a: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
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
        assert_eq!(s.base_images, vec!["a".to_string()]);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let text = "name: n\nbaseImages: {a: 1}\n";
        let d = crate::config::parse::parse::<ImageState>(Path::new("x.yaml"), text).unwrap_err();
        assert!(d.message.contains("baseImages"), "{}", d.message);
        assert_eq!(d.location.map(|l| l.line), Some(2));
    }
}
