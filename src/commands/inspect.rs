//! `imgf inspect dockerfile|ref`: exactly what analysis sees.

use crate::diagnostic::{Diagnostic, Error};
use crate::shell::Shell;
use crate::ExitStatus;
use std::fmt::Write as _;

/// One base image as `imgf inspect` shows it.
#[derive(serde::Serialize)]
struct RefView {
    reference: String,
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
    name: String,
}

impl RefView {
    fn new(reference: &str, image: &crate::image_ref::ImageRef) -> RefView {
        RefView {
            reference: reference.to_string(),
            registry: image.registry.clone(),
            repository: image.repository.clone(),
            tag: image.tag.clone(),
            digest: image.digest.clone(),
            name: crate::names::base_image_name(image),
        }
    }

    fn text(&self) -> String {
        let canonical = crate::image_ref::ImageRef {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        };
        format!(
            "{}\n  canonical: {}\n  name:      {}",
            self.reference, canonical, self.name
        )
    }
}

/// `KEY=VALUE` build arguments.
pub(crate) fn parse_build_args(
    args: &[String],
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .filter(|(k, _)| crate::values::input_name(k).is_ok())
                .ok_or_else(|| {
                    Error::input(
                        Diagnostic::error(format!("--build-arg `{a}` is not KEY=VALUE"))
                            .help("write it like --build-arg NODE_VERSION=22"),
                    )
                })
        })
        .collect()
}

/// `imgf inspect dockerfile`; with `--format json`, errors as
/// `{"errors": [...]}` on stdout too.
pub(crate) fn dockerfile(
    args: &crate::cli::InspectDockerfileArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let json = args.format == crate::cli::InspectFormat::Json;
    let result = inspect_dockerfile(args, shell);
    shell.json_errors(json, result)
}

fn inspect_dockerfile(
    args: &crate::cli::InspectDockerfileArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    use crate::cli::InspectFormat;
    let text = crate::config::parse::read_text(&args.path)?;
    let opts = crate::dockerfile::Options {
        build_args: parse_build_args(&args.build_args)?,
        platform: args.platform.clone(),
    };
    let analysis = crate::dockerfile::read_bases(&text, &opts).map_err(|e| {
        Error::input(
            Diagnostic::error(format!("cannot parse the Dockerfile: {}", e.message))
                .in_file(&args.path)
                .at(Some(crate::diagnostic::Location {
                    line: e.line,
                    column: e.column,
                }))
                .help(e.help),
        )
    })?;
    let bases: Vec<RefView> = analysis
        .base_images
        .iter()
        .map(|b| RefView::new(&b.reference, &b.image))
        .collect();
    match args.format {
        InspectFormat::Json => {
            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct View<'a> {
                base_images: &'a [RefView],
                unresolved: &'a [crate::dockerfile::Unresolved],
            }
            shell.out_json(&View {
                base_images: &bases,
                unresolved: &analysis.unresolved,
            })?;
        }
        InspectFormat::Text => {
            let mut s = String::new();
            for (b, v) in analysis.base_images.iter().zip(&bases) {
                let _ = writeln!(s, "line {}: {}", b.line, v.text());
            }
            for u in &analysis.unresolved {
                let _ = writeln!(
                    s,
                    "line {}: unresolved: FROM {} ({})",
                    u.line, u.from, u.reason
                );
            }
            if s.is_empty() {
                s.push_str("no base images (scratch or stages only)\n");
            }
            shell.out_str(&s)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// `imgf inspect ref`; with `--format json`, errors as `{"errors": [...]}`
/// on stdout too.
pub(crate) fn reference(
    args: &crate::cli::InspectRefArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let json = args.format == crate::cli::InspectFormat::Json;
    let result = inspect_reference(args, shell);
    shell.json_errors(json, result)
}

fn inspect_reference(
    args: &crate::cli::InspectRefArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let image = crate::image_ref::ImageRef::parse(&args.reference).map_err(|why| {
        Error::input(
            Diagnostic::error(format!(
                "`{}` is not a valid image reference: {why}",
                args.reference
            ))
            .help(why.fix),
        )
    })?;
    let view = RefView::new(&args.reference, &image);
    match args.format {
        crate::cli::InspectFormat::Json => shell.out_json(&view)?,
        crate::cli::InspectFormat::Text => shell.out_str(&format!("{}\n", view.text()))?,
    }
    Ok(ExitStatus::Success)
}
