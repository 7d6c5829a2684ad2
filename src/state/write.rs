//! State files as text: the templates under `templates/` filled with values.
//!
//! Every field is always written, in the template's order, with the same
//! writer as the manifests, so a state file imgf wrote reads back and writes
//! again byte for byte. Keys imgf does not model are kept at the end.

use serde::Serialize;

use crate::diagnostic::Error;
use crate::state::{BaseImageState, Extra, ImageState};

const IMAGE_TEMPLATE: &str = include_str!("../../templates/image-state.yaml");
const BASE_TEMPLATE: &str = include_str!("../../templates/base-image-state.yaml");

/// The text of an image state file.
pub fn image_state(s: &ImageState) -> Result<String, Error> {
    let fields = fields(s)?;
    let external = ["allowTags", "imageSelectionStrategy", "tag"];
    let has_external = [&s.allow_tags, &s.image_selection_strategy, &s.tag]
        .iter()
        .any(|f| f.is_some());
    let mut ext = String::new();
    if has_external {
        ext.push_str(
            "\n# An external image (written by the cdk8s app): what its Warehouse watched.\n",
        );
        for k in external {
            ext.push_str(&field(&fields, k)?);
            ext.push('\n');
        }
    }
    // Written only once there is one, so a state file from before the
    // history existed is not rewritten for it.
    let mut builds = String::new();
    if !s.build_history.is_empty() {
        builds.push_str("# The last builds recorded, newest last (at most 10).\n");
        builds.push_str(&field(&fields, "buildHistory")?);
    }
    fill(
        IMAGE_TEMPLATE,
        s.name.as_deref().unwrap_or_default(),
        &fields,
        &s.extra,
        &[("external", ext), ("buildHistory", builds)],
    )
}

/// The text of a base-image state file.
pub fn base_image_state(s: &BaseImageState) -> Result<String, Error> {
    let fields = fields(s)?;
    fill(
        BASE_TEMPLATE,
        s.name.as_deref().unwrap_or_default(),
        &fields,
        &s.extra,
        &[],
    )
}

fn fields<T: Serialize>(s: &T) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::to_value(s) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::Internal("a state is not a mapping".into())),
        Err(e) => Err(Error::Internal(format!("cannot serialise a state: {e}"))),
    }
}

/// `key: value` (or a block) for one field, without the final newline.
fn field(fields: &serde_json::Map<String, serde_json::Value>, key: &str) -> Result<String, Error> {
    let value = fields.get(key).cloned().unwrap_or(serde_json::Value::Null);
    entry(key, &value)
}

fn entry<V: Serialize>(key: &str, value: &V) -> Result<String, Error> {
    let mut one = std::collections::BTreeMap::new();
    one.insert(key, value);
    let mut text = crate::emit::yaml::to_string(&one)
        .map_err(|e| Error::Internal(format!("cannot write `{key}`: {e}")))?;
    text.truncate(text.trim_end_matches('\n').len());
    Ok(text)
}

fn fill(
    template: &str,
    title: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    extra: &Extra,
    special: &[(&str, String)],
) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len() + 512);
    for line in template.lines() {
        let Some(start) = line.find("{{") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let end = line[start..]
            .find("}}")
            .map_or(line.len(), |e| start + e + 2);
        let key = &line[start + 2..end - 2];
        let rest = &line[end..];
        let value = match key {
            "title" => title.replace(['\n', '\r'], " "),
            "extra" => {
                let mut e = String::new();
                if !extra.is_empty() {
                    e.push_str("# Kept as found (imgf does not use these keys):\n");
                    for (k, v) in extra {
                        e.push_str(&entry(k, v)?);
                        e.push('\n');
                    }
                }
                e.trim_end().to_string()
            }
            k => match special.iter().find(|(s, _)| *s == k) {
                Some((_, v)) => v.trim_matches('\n').to_string(),
                None => field(fields, k)?,
            },
        };
        if value.is_empty() && line[..start].trim().is_empty() && rest.trim().is_empty() {
            continue;
        }
        out.push_str(&line[..start]);
        out.push_str(&value);
        out.push_str(rest);
        out.push('\n');
    }
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    Ok(out.trim_end().to_string() + "\n")
}
