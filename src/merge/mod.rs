//! Step 2 of synth: enrollment ⊕ state → [`Model`]. Pure: no I/O.
//!
//! images.yaml is the source of truth for *what* is enrolled and how it is
//! built; a newly enrolled image appears at once, before any analysis. State
//! files supply only what was discovered or observed: base images, the
//! version last built, the workflow's declared inputs, the tag a base image is
//! watched at. Problems the old cdk8s tool left in state (double-escaped tag
//! filters, duplicate bases, `None` strings) are repaired with a warning.
//!
//! In steps, one module each: [`managed`] (images built here, and what their
//! dispatch may send), [`upstream`] (external images and discovered bases,
//! with [`tag_filter`]), [`bases`] (what each managed image is built on).

mod bases;
mod catalog;
mod managed;
mod tag_filter;
mod upstream;

pub(crate) use upstream::base_image_for_kargo;

use foldhash::HashMap;

use crate::config::enrollment::Provider;
use crate::diagnostic::{Diagnostic, Error};
use crate::load::Inputs;
use crate::model::Model;
use crate::state::store::StateFile;
use crate::state::ImageState;

pub use crate::values::exact_tag_regex;
pub use catalog::is_digest;

/// Merges everything read into the model, catalog facts included;
/// returns it with the warnings.
pub fn merge(inputs: &Inputs) -> Result<(Model, Vec<Diagnostic>), Error> {
    merge_with(inputs, Parts { catalog: true })
}

/// What a merge makes beyond what every target reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// [`Model::catalog`]: owners and state values, which only a catalog
    /// reads (a seventh of the merge at 10,000 images). Left empty when
    /// false.
    pub catalog: bool,
}

/// [`merge`], making only the `parts` asked for.
pub fn merge_with(inputs: &Inputs, parts: Parts) -> Result<(Model, Vec<Diagnostic>), Error> {
    let mut diags = inputs.warnings.clone();
    let states: HashMap<&str, &StateFile<ImageState>> = inputs
        .image_states
        .iter()
        .map(|s| (s.data.name.as_deref().unwrap_or(&s.stem), s))
        .collect();

    // 1. Enrollments, in images.yaml order: managed images, and external
    //    images (the first upstream images).
    let mut model = Model::default();
    // Most entries are managed images: room for all, not the doubling's
    // up-to-half unused (megabytes at 10,000 images).
    model.managed.reserve_exact(inputs.enrollments.len());
    let mut enrollment_of: Vec<usize> = Vec::with_capacity(inputs.enrollments.len());
    let locator = inputs.images_locator();
    for (index, e) in inputs.enrollments.iter().enumerate() {
        if let Some(m) = managed::from_enrollment(e, index, &inputs.settings.providers) {
            if let (Provider::Gitlab, Some(w)) = (m.provider, &m.workflow) {
                diags.push(
                    Diagnostic::warning(format!(
                        "image `{}` is built on GitLab, so its workflow `{w}` is not used: a rebuild runs the project's pipeline (.gitlab-ci.yml)",
                        e.name
                    ))
                    .in_file(&inputs.images_file)
                    .at(locator.key(index, "workflow"))
                    .underline(w.as_str())
                    .help("remove `workflow` (or --workflow), or set `provider: github` if the image is built by a GitHub workflow"),
                );
            }
            enrollment_of.push(index);
            model.managed.push(m);
            continue;
        }
        let state = states.get(e.name.as_str()).copied();
        match upstream::external(
            e,
            state,
            &inputs.images_file,
            &locator,
            index,
            &inputs.settings.providers,
        ) {
            Ok((u, mut w)) => {
                diags.append(&mut w);
                model.upstream.push(u);
            }
            Err(d) => diags.push(d),
        }
    }

    // 2. Base images and what each managed image is built on.
    bases::resolve(&mut model, inputs, &states, &mut diags);

    // 3. What each managed image's dispatch may send.
    let mut unknown_inputs: Vec<String> = Vec::new();
    let mut narrowed = Vec::new();
    for (m, &index) in model.managed.iter_mut().zip(&enrollment_of) {
        let e = &inputs.enrollments[index];
        let state = states.get(e.name.as_str()).copied();
        managed::inputs_for(m, e, state, &mut unknown_inputs, &mut narrowed, &mut diags);
    }
    diags.extend(managed::narrowed_warnings(narrowed));
    if !unknown_inputs.is_empty() {
        diags.push(managed::unknown_inputs_warning(&unknown_inputs));
    }

    // 4. No update may commit where a generated Warehouse looks.
    managed::feedback_loops(
        &model,
        &inputs.settings.providers,
        &inputs.images_file,
        &locator,
        &enrollment_of,
        &mut diags,
    );

    let enrolled: foldhash::HashSet<&str> =
        inputs.enrollments.iter().map(|e| e.name.as_str()).collect();
    for s in &inputs.image_states {
        let name = s.data.name.as_deref().unwrap_or(&s.stem);
        if !enrolled.contains(name) {
            diags.push(
                Diagnostic::warning(format!(
                    "state for `{name}` has no entry in images.yaml; it is ignored"
                ))
                .in_file(&s.path)
                .help("enroll the image again, or let `imgf analyze` archive the state file"),
            );
        }
    }

    // 5. What a catalog says about each image (owners, state values).
    if parts.catalog {
        model.catalog = catalog::facts(inputs, &model);
    }

    inputs.attach_sources(&mut diags);
    let diags = crate::diagnostic::into_result(diags)?;
    Ok((model, diags))
}

#[cfg(test)]
mod tests {
    use super::managed::source_paths;
    use super::tag_filter::tag_filter;
    use super::upstream::tag_of_reference;
    use super::*;
    use crate::config::enrollment::Provider;
    use regex::Regex;

    #[test]
    fn exact_regex_escapes_dots() {
        assert_eq!(exact_tag_regex("3.12-slim"), r"^3\.12-slim$");
        let re = Regex::new(&exact_tag_regex("v1.40.0-focal")).unwrap();
        assert!(re.is_match("v1.40.0-focal"));
        assert!(!re.is_match("v1x40.0-focal"));
    }

    #[test]
    fn double_escaped_filter_is_repaired() {
        let (tag, re, w) = tag_filter(
            "python",
            Some("3.12-slim".into()),
            Some(r"^3\\.12-slim$".into()),
        )
        .unwrap();
        assert_eq!(tag.as_deref(), Some("3.12-slim"));
        assert_eq!(re, r"^3\.12-slim$");
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("never match"), "{}", w[0].message);
    }

    #[test]
    fn working_filter_is_kept() {
        let (_, re, w) = tag_filter("n", Some("latest".into()), Some("^latest$".into())).unwrap();
        assert_eq!(re, "^latest$");
        assert!(w.is_empty());
    }

    #[test]
    fn tag_is_recovered_from_a_filter_alone() {
        let (tag, re, w) = tag_filter("n", None, Some(r"^v1\\.40\\.0-focal$".into())).unwrap();
        assert_eq!(tag.as_deref(), Some("v1.40.0-focal"));
        assert_eq!(re, r"^v1\.40\.0-focal$");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn source_paths_are_the_dockerfile_and_workflow_files() {
        assert_eq!(
            source_paths(
                Provider::Github,
                "image-factory/sources/api/Dockerfile",
                Some("api.yml")
            ),
            vec![
                ".github/workflows/api.yml",
                "image-factory/sources/api/Dockerfile"
            ]
        );
        assert_eq!(
            source_paths(Provider::Github, "./Dockerfile", Some("1234")),
            vec!["Dockerfile"]
        );
        assert_eq!(
            source_paths(Provider::Gitlab, "docker/Dockerfile", None),
            vec!["docker/Dockerfile"]
        );
    }

    #[test]
    fn tag_of_reference_handles_ports_and_digests() {
        assert_eq!(
            tag_of_reference("localhost:5000/app:1").as_deref(),
            Some("1")
        );
        assert_eq!(tag_of_reference("localhost:5000/app").as_deref(), None);
        assert_eq!(
            tag_of_reference("node:22@sha256:abc").as_deref(),
            Some("22")
        );
    }
}
