//! The subcommands: each reads its inputs, runs the pure pipeline, and
//! writes its output. The only place besides `emit` that touches the outside
//! world for synth.

use std::io::Write;
use std::path::Path;

pub mod analyze;
pub mod git;
pub mod policy;

use crate::cli::{GraphArgs, InputArgs, SynthArgs};
use crate::config::load::{self, Inputs};
use crate::config::settings::Overrides;
use crate::diagnostic::{Diagnostic, Error};
use crate::{emit, synth, ExitStatus};

pub(crate) fn read_inputs(args: &InputArgs) -> Result<Inputs, Error> {
    let overrides = Overrides {
        project: args.project.clone(),
        analysis_image: args.analysis_image.clone(),
    };
    load::load(&args.dir, args.settings.as_deref(), &overrides)
}

/// Reads `--dir` and merges it into the model, printing merge warnings.
pub(crate) fn load_model(
    args: &InputArgs,
    err: &mut dyn Write,
) -> Result<(Inputs, crate::model::Model), Error> {
    let inputs = read_inputs(args)?;
    let (model, warnings) = crate::merge::merge(&inputs)?;
    print_warnings(&warnings, err)?;
    Ok((inputs, model))
}

pub(crate) fn print_warnings(warnings: &[Diagnostic], err: &mut dyn Write) -> Result<(), Error> {
    for w in warnings {
        writeln!(err, "{w}").map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
    }
    Ok(())
}

/// `imgf synth`.
pub fn synth(
    args: &SynthArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let to_stdout = args.output.as_os_str() == "-";
    if args.check && to_stdout {
        return Err(Error::input(
            Diagnostic::error("--check compares with an output file, but --output is `-`")
                .help("pass the file to check with --output, or leave it at its default"),
        ));
    }
    let inputs = read_inputs(&args.input)?;
    let result = synth::synthesize(&inputs)?;
    if !args.quiet {
        print_warnings(&result.warnings, err)?;
    }
    if args.check {
        return match emit::drift(&args.output, &result.yaml)? {
            None => Ok(ExitStatus::Success),
            Some(diff) => {
                out.write_all(diff.as_bytes())
                    .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
                writeln!(
                    err,
                    "error: {} is out of date; run `imgf synth` and commit the result",
                    args.output.display()
                )
                .map_err(|e| Error::io("cannot write to", Path::new("stderr"), e))?;
                Ok(ExitStatus::Drift)
            }
        };
    }
    if to_stdout {
        result
            .yaml
            .write_to(out)
            .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))?;
    } else {
        emit::write_stream(&args.output, &result.yaml)?;
    }
    Ok(ExitStatus::Success)
}

/// `imgf graph`.
pub fn graph(
    args: &GraphArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus, Error> {
    let (_, model) = load_model(&args.input, err)?;
    let graph = crate::graph::build(&model).map_err(Error::input)?;
    write_out(out, &graph.render(&model, args.format))?;
    Ok(ExitStatus::Success)
}

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

pub(crate) fn write_out(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("cannot write to", Path::new("stdout"), e))
}

fn json_line<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data always serializes");
    s.push('\n');
    s
}

/// `KEY=VALUE` build arguments.
pub fn parse_build_args(
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

/// `imgf inspect dockerfile`.
pub fn inspect_dockerfile(
    args: &crate::cli::InspectDockerfileArgs,
    out: &mut dyn Write,
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
            struct View<'a> {
                base_images: &'a [RefView],
                unresolved: &'a [crate::dockerfile::Unresolved],
            }
            write_out(
                out,
                &json_line(&View {
                    base_images: &bases,
                    unresolved: &analysis.unresolved,
                }),
            )?;
        }
        InspectFormat::Text => {
            let mut s = String::new();
            for (b, v) in analysis.base_images.iter().zip(&bases) {
                s.push_str(&format!("line {}: {}\n", b.line, v.text()));
            }
            for u in &analysis.unresolved {
                s.push_str(&format!(
                    "line {}: unresolved: FROM {} ({})\n",
                    u.line, u.from, u.reason
                ));
            }
            if s.is_empty() {
                s.push_str("no base images (scratch or stages only)\n");
            }
            write_out(out, &s)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// `imgf inspect ref`.
pub fn inspect_ref(
    args: &crate::cli::InspectRefArgs,
    out: &mut dyn Write,
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
        crate::cli::InspectFormat::Json => write_out(out, &json_line(&view))?,
        crate::cli::InspectFormat::Text => write_out(out, &format!("{}\n", view.text()))?,
    }
    Ok(ExitStatus::Success)
}

/// `imgf schema`: the JSON Schema of an input file, from the same types the
/// loader uses, so it cannot drift from what imgf accepts.
pub fn schema(args: &crate::cli::SchemaArgs, out: &mut dyn Write) -> Result<ExitStatus, Error> {
    let schema = match args.file {
        crate::cli::SchemaFile::Images => {
            schemars::schema_for!(Vec<crate::config::enrollment::Enrollment>)
        }
        crate::cli::SchemaFile::Settings => {
            schemars::schema_for!(crate::config::settings::SettingsFile)
        }
    };
    write_out(out, &json_line(&schema))?;
    Ok(ExitStatus::Success)
}
