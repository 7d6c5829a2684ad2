//! `imgf schema`: the JSON Schema of images.yaml or settings.yaml.

use crate::diagnostic::Error;
use crate::shell::Shell;
use crate::ExitStatus;

/// `imgf schema`: the JSON Schema of an input file, from the same types the
/// loader uses, so it cannot drift from what imgf accepts.
pub(crate) fn run(
    args: &crate::cli::SchemaArgs,
    shell: &mut Shell<'_>,
) -> Result<ExitStatus, Error> {
    let schema = match args.file {
        crate::cli::SchemaFile::Images => {
            schemars::schema_for!(Vec<crate::config::enrollment::Enrollment>)
        }
        crate::cli::SchemaFile::Settings => {
            schemars::schema_for!(crate::config::settings::SettingsFile)
        }
    };
    shell.out_json(&schema)?;
    Ok(ExitStatus::Success)
}
