//! The subcommands, one file each: each reads its inputs, runs the pure
//! pipeline, and writes its output through the [`Shell`] it is given. With
//! `config` and `emit`, the only code that touches the outside world. This
//! file holds what several share.

pub(crate) mod analyze;
pub(crate) mod complete;
pub(crate) mod docs;
pub(crate) mod emergency;
pub(crate) mod enroll;
pub(crate) mod explain;
pub(crate) mod graph;
pub(crate) mod inspect;
pub(crate) mod man;
pub(crate) mod record_update;
pub(crate) mod reference;
pub(crate) mod schema;
pub(crate) mod security;
pub(crate) mod status;
pub(crate) mod synth;
pub(crate) mod updates;

use crate::cli::InputArgs;
use crate::config::settings::Overrides;
use crate::diagnostic::Error;
use crate::load::{self, Inputs};
use crate::shell::Shell;

/// The state-repository transaction `args` ask for.
pub(crate) fn state_repo(args: &crate::cli::StateRepoArgs) -> crate::git::state_repo::StateRepo {
    crate::git::state_repo::StateRepo {
        url: args.state_repo.clone(),
        branch: args.state_branch.clone(),
        commit: args.commit,
        push: args.push,
        outputs: args.outputs(),
    }
}

pub(crate) fn read_inputs(args: &InputArgs) -> Result<Inputs, Error> {
    let overrides = Overrides {
        project: args.project.clone(),
        analysis_image: args.analysis_image.clone(),
    };
    load::load(&args.dir.path, args.settings.as_deref(), &overrides)
}

impl Shell<'_> {
    /// The prologue of a command that reads the model: reads `--dir`,
    /// merges it, and prints the merge's warnings.
    pub(crate) fn load_model(
        &mut self,
        args: &InputArgs,
    ) -> Result<(Inputs, crate::model::Model), Error> {
        let inputs = read_inputs(args)?;
        let (model, warnings) = crate::merge::merge(&inputs)?;
        self.diagnostics(&warnings)?;
        Ok((inputs, model))
    }
}
