//! What each managed image is built on: the base-image state files become
//! upstream images (or, when their repository is a managed image, a
//! cascade), and each image's recorded `baseImages` are resolved to them.

use foldhash::{HashMap, HashMapExt};

use super::upstream;
use crate::diagnostic::Diagnostic;
use crate::load::Inputs;
use crate::model::{BaseRef, Model, Upstream};
use crate::state::store::StateFile;
use crate::state::{BaseImageState, ImageState};

/// A resolved base before upstream indices are final.
#[derive(Clone, Copy)]
enum Ref {
    Managed(usize),
    Alias(BaseRef),
    Base(usize),
    External(usize),
}

/// Adds the discovered bases to `model.upstream` and sets every managed
/// image's `bases` and `current_version`.
pub(super) fn resolve(
    model: &mut Model,
    inputs: &Inputs,
    states: &HashMap<&str, &StateFile<ImageState>>,
    diags: &mut Vec<Diagnostic>,
) {
    let managed_by_name: HashMap<String, usize> = model
        .managed
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.clone(), i))
        .collect();
    let upstream_by_name: HashMap<String, usize> = model
        .upstream
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name.clone(), i))
        .collect();
    // Base-image state files: a base whose repository is a managed image is
    // that image (a cascade); the rest are watched upstream.
    let managed_by_repo: HashMap<&str, usize> = model
        .managed
        .iter()
        .enumerate()
        .map(|(i, m)| (m.repo_url.as_str(), i))
        .collect();
    let mut base_alias: HashMap<&str, BaseRef> = HashMap::new();
    let mut bases: Vec<(&StateFile<BaseImageState>, Upstream)> = Vec::new();
    for file in &inputs.base_states {
        match upstream::base_image(file) {
            Ok((u, mut w)) => {
                if let Some(&m) = managed_by_repo.get(u.repo_url.as_str()) {
                    base_alias.insert(&file.stem, BaseRef::Managed(m));
                    continue;
                }
                // An external image enrolled under the base's name and
                // watching its repository is that base: the image's
                // `baseImages` find it by name.
                if let Some(&e) = upstream_by_name.get(&file.stem) {
                    if model.upstream[e].repo_url == u.repo_url {
                        continue;
                    }
                }
                if managed_by_name.contains_key(file.stem.as_str())
                    || upstream_by_name.contains_key(&file.stem)
                {
                    diags.push(
                        Diagnostic::error(format!(
                            "base image `{}` has the same name as an enrolled image but watches another repository (`{}`)",
                            file.stem, u.repo_url
                        ))
                        .in_file(&file.path)
                        .help("rename the enrolled image, or delete this state file and run `imgf analyze`"),
                    );
                    continue;
                }
                diags.append(&mut w);
                bases.push((file, u));
            }
            Err(d) => diags.push(d),
        }
    }

    // Resolve every managed image's bases.
    // Which discovered bases some image is built on, by index in `bases`.
    let mut used = vec![false; bases.len()];
    let base_index: HashMap<&str, usize> = bases
        .iter()
        .enumerate()
        .map(|(i, (f, _))| (f.stem.as_str(), i))
        .collect();
    let mut resolved: Vec<Vec<Result<Ref, ()>>> = Vec::with_capacity(model.managed.len());
    for mi in 0..model.managed.len() {
        let image = model.managed[mi].name.clone();
        let image = image.as_str();
        let state = states.get(image).copied();
        let mut refs = Vec::new();
        // An image has a few bases: a list is quicker than a set.
        let mut seen: Vec<&str> = Vec::new();
        if let Some(st) = state {
            if st.data.discovery_status.as_deref() == Some("failed") {
                diags.push(
                    Diagnostic::warning(format!(
                        "the last analysis of `{image}` failed ({}); its rebuild trigger uses the base images found before",
                        st.data.discovery_error.as_deref().unwrap_or("no reason recorded")
                    ))
                    .in_file(&st.path)
                    .help("fix the Dockerfile and run `imgf analyze` again"),
                );
            }
            model.managed[mi]
                .current_version
                .clone_from(&st.data.current_version);
            for (k, name) in st.data.base_images.iter().enumerate() {
                if seen.contains(&name.as_str()) {
                    diags.push(
                        Diagnostic::warning(format!(
                            "image `{image}` lists base `{name}` twice; using it once"
                        ))
                        .in_file(&st.path)
                        .at(st.base_image_line(k)),
                    );
                    continue;
                }
                seen.push(name);
                let r = if name == image {
                    diags.push(
                        Diagnostic::error(format!("image `{image}` lists itself as its own base"))
                            .in_file(&st.path)
                            .at(st.base_image_line(k))
                            .help("remove it from baseImages and run `imgf analyze`"),
                    );
                    Err(())
                } else if let Some(&m) = managed_by_name.get(name.as_str()) {
                    Ok(Ref::Managed(m))
                } else if let Some(&b) = base_alias.get(name.as_str()) {
                    Ok(Ref::Alias(b))
                } else if let Some(&b) = base_index.get(name.as_str()) {
                    used[b] = true;
                    Ok(Ref::Base(b))
                } else if let Some(&u) = upstream_by_name.get(name) {
                    Ok(Ref::External(u))
                } else {
                    diags.push(
                        Diagnostic::error(format!(
                            "image `{image}` is built on `{name}`, but there is no base-image state file for it"
                        ))
                        .in_file(&st.path)
                        .at(st.base_image_line(k))
                        .help(format!(
                            "run `imgf analyze --image {image}` to discover its base images, or add base-images/{name}.yaml"
                        )),
                    );
                    Err(())
                };
                refs.push(r);
            }
        }
        resolved.push(refs);
    }

    for ((file, _), &used) in bases.iter().zip(&used) {
        if !used {
            diags.push(
                Diagnostic::warning(format!(
                    "base image `{}` is not used by any enrolled image; no Warehouse is generated for it",
                    file.stem
                ))
                .in_file(&file.path)
                .help("delete the state file, or let `imgf analyze` clean it up"),
            );
        }
    }

    // Discovered bases follow the external images, sorted by file name (the
    // order they were read in).
    let mut kept: HashMap<usize, usize> = HashMap::new();
    for (i, ((_, u), used)) in bases.into_iter().zip(used).enumerate() {
        if used {
            kept.insert(i, model.upstream.len());
            model.upstream.push(u);
        }
    }
    for (mi, refs) in resolved.into_iter().enumerate() {
        model.managed[mi].bases = refs
            .into_iter()
            .filter_map(Result::ok)
            .map(|r| match r {
                Ref::Managed(m) => BaseRef::Managed(m),
                Ref::Alias(b) => b,
                Ref::Base(b) => BaseRef::Upstream(kept[&b]),
                Ref::External(u) => BaseRef::Upstream(u),
            })
            .fold(Vec::new(), |mut acc, b| {
                if !acc.contains(&b) {
                    acc.push(b);
                }
                acc
            });
    }
}
