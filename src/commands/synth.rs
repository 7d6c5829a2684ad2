//! `imgf synth`: the manifests of the enrollment, written atomically, to
//! stdout, or compared with the committed file (`--check`).

use std::path::{Component, Path, PathBuf};

use super::read_inputs;
use crate::cli::SynthArgs;
use crate::diagnostic::{Diagnostic, Error};
use crate::fs::Written;
use crate::ops::synth;
use crate::shell::Shell;
use crate::{emit, ExitStatus};

/// `imgf synth`.
pub(crate) fn run(args: &SynthArgs, shell: &mut Shell<'_>) -> Result<ExitStatus, Error> {
    let target = args.target;
    let output = match &args.output {
        Some(o) => o.clone(),
        None => default_output(&args.input.dir.path, target.spec().default_output),
    };
    let to_stdout = output.as_os_str() == "-";
    if args.check && to_stdout {
        return Err(Error::input(
            Diagnostic::error("--check compares with an output file, but --output is `-`")
                .help("pass the file to check with --output, or leave it at its default"),
        ));
    }
    let inputs = read_inputs(&args.input)?;
    let prepared = synth::prepare(&inputs, target)?;
    // What was read is not needed to render: its memory is freed, on a
    // thread of its own (tens of thousands of allocations: milliseconds
    // the rendering need not wait for).
    let _freeing = crate::par::drop_in_background(inputs);
    let status = write(args, shell, &output, &prepared);
    // The model is freed without waiting for it, as the inputs are.
    crate::par::drop_detached(prepared);
    status
}

/// The rest of `imgf synth`, from `prepared`: to stdout, to `output`, or
/// compared with it (`--check`).
fn write(
    args: &SynthArgs,
    shell: &mut Shell<'_>,
    output: &Path,
    prepared: &synth::Prepared,
) -> Result<ExitStatus, Error> {
    let to_stdout = output.as_os_str() == "-";
    let rendering = prepared.rendering()?;
    if !args.quiet {
        shell.diagnostics(&prepared.warnings)?;
    }
    if args.check {
        // The common case, no drift, is decided while rendering, a batch at
        // a time; only drift renders the whole text, for the diff.
        if emit::matches_rendering(output, &rendering)? {
            return Ok(ExitStatus::Success);
        }
        return match emit::drift(output, &rendering.to_stream()?)? {
            None => Ok(ExitStatus::Success),
            Some(diff) => {
                shell.out_str(&diff)?;
                let stale = Diagnostic::error(format!(
                    "{} is out of date; run `imgf synth` and commit the result",
                    output.display()
                ));
                shell.diagnostics(&[stale])?;
                Ok(ExitStatus::Drift)
            }
        };
    }
    if to_stdout {
        shell.out_with(|out| rendering.write_to(out))?;
        return Ok(ExitStatus::Success);
    }
    let written = emit::write_rendering(output, &rendering)?;
    if !args.quiet {
        let objects = match rendering.documents() {
            1 => "1 object".to_string(),
            n => format!("{n} objects"),
        };
        let line = match written {
            Written::Changed => format!("wrote {} ({objects})", output.display()),
            Written::Unchanged => format!("{} is up to date ({objects})", output.display()),
        };
        shell.status(&line)?;
    }
    Ok(ExitStatus::Success)
}

/// Where synth writes without `--output`: `file` (the target's
/// [`crate::targets::Spec::default_output`]) in the directory
/// that holds `dir`, spelt as the user would (`image-factory` →
/// `dist/…`, `repo/image-factory` → `repo/dist/…`, `.` → `../dist/…`).
fn default_output(dir: &Path, file: &str) -> PathBuf {
    let project = match dir.components().next_back() {
        Some(Component::Normal(_)) => dir.parent().map(Path::to_path_buf).unwrap_or_default(),
        // `..` and the like: one more level up.
        Some(Component::ParentDir) => dir.join(".."),
        // `.` (or an empty --dir, read as `.`): the current directory's parent.
        Some(Component::CurDir) | None => PathBuf::from(".."),
        // `/` has no parent: the output goes into it.
        Some(Component::RootDir | Component::Prefix(_)) => dir.to_path_buf(),
    };
    project.join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_output_is_beside_dir() {
        let cases = [
            ("image-factory", "dist/image-factory.k8s.yaml"),
            ("image-factory/", "dist/image-factory.k8s.yaml"),
            ("./image-factory", "./dist/image-factory.k8s.yaml"),
            (
                "some/repo/image-factory",
                "some/repo/dist/image-factory.k8s.yaml",
            ),
            ("/abs/repo/factory", "/abs/repo/dist/image-factory.k8s.yaml"),
            (".", "../dist/image-factory.k8s.yaml"),
            ("", "../dist/image-factory.k8s.yaml"),
            ("..", "../../dist/image-factory.k8s.yaml"),
            ("a/.", "dist/image-factory.k8s.yaml"),
            ("/", "/dist/image-factory.k8s.yaml"),
        ];
        for (dir, want) in cases {
            assert_eq!(
                default_output(
                    Path::new(dir),
                    crate::targets::Target::Kargo.spec().default_output
                ),
                Path::new(want),
                "--dir {dir:?}"
            );
        }
    }
}
