//! The command line: clap definitions only. Each subcommand's work lives in
//! [`crate::commands`].

use crate::targets::Target;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "imgf", version, about = "Keep container images fresh with Kargo", long_about = None, styles = STYLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour diagnostics and help: `auto` when writing to a terminal and
    /// NO_COLOR is not set; `always` even when NO_COLOR is set.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// When the output is a terminal and NO_COLOR is unset or empty.
    #[default]
    Auto,
    /// Always, whatever NO_COLOR says: a flag given on the command line
    /// beats the environment.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Whether to colour an output that is (or is not) a `terminal`, with
    /// `env` reading the environment. `auto` follows no-color.org and the
    /// CLICOLOR convention, in this order: NO_COLOR set and not empty → no;
    /// CLICOLOR_FORCE set and not `0` → yes; CLICOLOR=0 or TERM=dumb → no;
    /// else yes on a terminal.
    pub fn enabled(self, terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto if set("NO_COLOR") => false,
            ColorWhen::Auto
                if set("CLICOLOR_FORCE") && env("CLICOLOR_FORCE").as_deref() != Some("0") =>
            {
                true
            }
            ColorWhen::Auto => {
                terminal
                    && env("CLICOLOR").as_deref() != Some("0")
                    && env("TERM").as_deref() != Some("dumb")
            }
        }
    }

    /// The same choice for clap's own output (help, usage errors).
    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            ColorWhen::Auto => clap::ColorChoice::Auto,
            ColorWhen::Always => clap::ColorChoice::Always,
            ColorWhen::Never => clap::ColorChoice::Never,
        }
    }

    /// The value of `--color` in raw arguments, read before clap parses
    /// them so clap's own messages follow it too (the last one wins; none
    /// after `--`; an invalid value is left for clap to report).
    pub fn from_args<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> Option<ColorWhen> {
        use clap::ValueEnum;
        let args: Vec<String> = args
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .take_while(|a| a != "--")
            .collect();
        let mut found = None;
        for (i, a) in args.iter().enumerate() {
            let value = match a.strip_prefix("--color") {
                Some("") => args.get(i + 1).map(String::as_str),
                Some(v) => v.strip_prefix('='),
                None => None,
            };
            if let Some(w) = value.and_then(|v| ColorWhen::from_str(v, false).ok()) {
                found = Some(w);
            }
        }
        found
    }
}

/// Help colours as cargo's: green headers, cyan flags and values.
pub const STYLES: clap::builder::Styles = clap::builder::Styles::styled()
    .header(bold(anstyle::AnsiColor::Green))
    .usage(bold(anstyle::AnsiColor::Green))
    .literal(bold(anstyle::AnsiColor::Cyan))
    .placeholder(
        anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(anstyle::AnsiColor::Cyan))),
    )
    .error(bold(anstyle::AnsiColor::Red))
    .valid(bold(anstyle::AnsiColor::Cyan))
    .invalid(bold(anstyle::AnsiColor::Yellow));

const fn bold(c: anstyle::AnsiColor) -> anstyle::Style {
    anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::Color::Ansi(c)))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate the Kargo manifests from images.yaml and the state files.
    Synth(SynthArgs),
    /// Print the base-image dependency graph.
    Graph(GraphArgs),
    /// Discover each enrolled image's base images and write the state files.
    Analyze(Box<AnalyzeArgs>),
    /// Record a new digest of a base image (run when its Warehouse sees one).
    RecordUpdate(RecordUpdateArgs),
    /// Show exactly what analysis sees in a Dockerfile or an image reference.
    #[command(subcommand)]
    Inspect(InspectCommand),
    /// Print the JSON Schema of images.yaml or settings.yaml (for editors).
    Schema(SchemaArgs),
    /// Explain how an image is rebuilt, and what it is waiting for.
    Explain(ExplainArgs),
    /// Rebuild now, skipping the rebuild delay (a critical CVE): prints the
    /// Kargo commands and records an audit entry in the state files.
    Emergency(EmergencyArgs),
    /// The places images are deployed (images.yaml `updates:`).
    #[command(subcommand)]
    Updates(UpdatesCommand),
    /// Add an image to images.yaml (keeping its comments and layout).
    Enroll(Box<EnrollArgs>),
    /// Remove an image from images.yaml (`imgf analyze` then archives its state).
    Unenroll(UnenrollArgs),
    /// Print a shell completion script (e.g. `imgf completions bash > ~/.local/share/bash-completion/completions/imgf`);
    /// it completes enrolled image names too, by asking imgf.
    Completions(CompletionsArgs),
    /// Print the man page, in roff (e.g. `imgf man > ~/.local/share/man/man1/imgf.1`),
    /// or write one page per subcommand with --out-dir.
    Man(ManArgs),
    /// Write the guide's generated reference pages (for imgf's developers).
    #[command(name = "__docs", hide = true)]
    Docs(DocsArgs),
    /// What is stale and why: per image, its bases, pending rebuilds,
    /// failed discoveries and overdue builds.
    Status(StatusArgs),
    /// The security gates' Jobs (settings.yaml `security:`): list what a
    /// base gate scans, decide on the scanner's reports, prove a CVE fix,
    /// record a build's scan.
    #[command(subcommand)]
    Security(SecurityCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecurityCommand {
    /// Write OUT/refs: the new digest of a base, then the digests of it in
    /// use (what the gate compares), one `repo@digest` a line.
    Plan(SecurityPlanArgs),
    /// Record the scanner's reports (OUT/report-N.json for line N of
    /// OUT/refs) in state/scans and decide: exit 0 passed, 1 held (more
    /// vulnerabilities than the base in use), 2 error.
    Gate(SecurityGateArgs),
    /// Exit 0 when a base digest fixes a vulnerability of the digest IMAGE
    /// was last built on (the CVE fast path), 1 when it does not.
    CveFix(SecurityCveFixArgs),
    /// Record the scan of a new build in state/scans; never fails.
    RecordScan(SecurityRecordScanArgs),
}

fn parse_severity(s: &str) -> Result<crate::config::security::Severity, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct SecurityPlanArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The base image (its state file name).
    #[arg(long, value_name = "NAME")]
    pub base: String,
    /// The new digest.
    #[arg(long, value_name = "DIGEST")]
    pub digest: String,
    /// The directory the scanner and the gate share.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub state: StateRepoArgs,
}

#[derive(Debug, Args)]
pub struct SecurityGateArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The base image (its state file name).
    #[arg(long, value_name = "NAME")]
    pub base: String,
    /// The new digest (the first line of REPORTS/refs).
    #[arg(long, value_name = "DIGEST")]
    pub digest: String,
    /// The directory holding refs and the Trivy reports.
    #[arg(long, value_name = "DIR")]
    pub reports: PathBuf,
    /// The lowest severity counted: CRITICAL or HIGH.
    #[arg(long, value_name = "SEVERITY", default_value = "CRITICAL", value_parser = parse_severity)]
    pub fail_on: crate::config::security::Severity,
    /// The scanner image, recorded with each scan.
    #[arg(long, value_name = "IMAGE", default_value = "trivy")]
    pub scanner: String,
    #[command(flatten)]
    pub state: StateRepoArgs,
}

#[derive(Debug, Args)]
pub struct SecurityCveFixArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The managed image whose rebuild may skip its delay.
    #[arg(long, value_name = "NAME")]
    pub image: String,
    /// The base image (its state file name).
    #[arg(long, value_name = "NAME")]
    pub base: String,
    /// The new digest of the base.
    #[arg(long, value_name = "DIGEST")]
    pub digest: String,
    /// The lowest severity counted: CRITICAL or HIGH.
    #[arg(long, value_name = "SEVERITY", default_value = "CRITICAL", value_parser = parse_severity)]
    pub fail_on: crate::config::security::Severity,
    #[command(flatten)]
    pub state: StateRepoArgs,
}

#[derive(Debug, Args)]
pub struct SecurityRecordScanArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The managed image built.
    #[arg(long, value_name = "NAME")]
    pub image: String,
    /// Its repository (`ghcr.io/org/app`).
    #[arg(long, value_name = "REPO")]
    pub repo: String,
    /// The build's digest (`-`: nothing built yet, nothing recorded).
    #[arg(long, value_name = "DIGEST")]
    pub digest: String,
    /// The Trivy JSON report (absent: the scan failed; nothing recorded).
    #[arg(long, value_name = "FILE")]
    pub report: PathBuf,
    /// The scanner image, recorded with the scan.
    #[arg(long, value_name = "IMAGE", default_value = "trivy")]
    pub scanner: String,
    #[command(flatten)]
    pub state: StateRepoArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `imgf.1` and a page per subcommand (`imgf-synth.1`,
    /// `imgf-updates-check.1`, …) into DIR instead of printing `imgf.1`.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Where the pages go (docs/src/reference).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Write nothing; exit 1 naming each page that is missing or out of date.
    #[arg(long)]
    pub check: bool,
}

/// Output formats of `imgf status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// For people.
    Table,
    /// The documented, stable JSON shape (see the guide).
    Json,
    /// Prometheus text exposition format (node-exporter's textfile collector).
    Prometheus,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatusFormat,
    /// An image not built for longer than this is stale (`30d`, `36h`).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub stale_after: String,
    /// For tests only: the time to compute the status at (RFC 3339) instead
    /// of the clock.
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,
}

// Each bool is a command-line switch (`--manual`, `--update`, …).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Args)]
pub struct EnrollArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The entry as YAML (a mapping, or a one-item list) instead of the
    /// flags; with --update it replaces the whole entry.
    #[arg(long, short, value_name = "FILE", conflicts_with_all = [
        "name", "registry", "repository", "source_repo", "dockerfile", "workflow",
        "branch", "provider", "tag", "delay", "manual", "owner", "system", "lifecycle",
    ])]
    pub file: Option<PathBuf>,
    /// The image's name (`name`): a DNS-1123 label, used in its Warehouse
    /// and Stages.
    #[arg(long)]
    pub name: Option<String>,
    /// The registry host (`registry`), like `ghcr.io`.
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// The path inside the registry (`repository`), like `org/app`.
    #[arg(long, value_name = "PATH")]
    pub repository: Option<String>,
    /// Where the image is built (`source.repo`, `owner/name`); without it
    /// the image is external.
    #[arg(long, value_name = "REPO")]
    pub source_repo: Option<String>,
    /// The Dockerfile's path from the source repository's root
    /// (`source.dockerfile`); goes with --source-repo.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<String>,
    /// GitHub: the workflow file (or id) a rebuild dispatches
    /// (`source.workflow`).
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<String>,
    /// The branch built and watched (`source.branch`; default `main`).
    #[arg(long)]
    pub branch: Option<String>,
    /// Where the source repository is (`source.provider`; default github).
    #[arg(long, value_parser = ["github", "gitlab"])]
    pub provider: Option<String>,
    /// External images: the tag to watch (`tag`).
    #[arg(long)]
    pub tag: Option<String>,
    /// How long a new base digest must be out before it triggers a rebuild
    /// (`rebuildDelay`: `7d`, `36h`, `0`).
    #[arg(long, value_name = "DURATION")]
    pub delay: Option<String>,
    /// `autoRebuild: false`: rebuilds wait for a person.
    #[arg(long)]
    pub manual: bool,
    /// Backstage: the entity reference of the image's owner (`owner`).
    #[arg(long, value_name = "ENTITY")]
    pub owner: Option<String>,
    /// Backstage: the system the image belongs to (`system`).
    #[arg(long, value_name = "ENTITY")]
    pub system: Option<String>,
    /// Backstage: the image's lifecycle (`lifecycle`), like `production`.
    #[arg(long)]
    pub lifecycle: Option<String>,
    /// Change an image already enrolled: with flags, only the keys they
    /// give (every other line stays); with -f, the whole entry. The changed
    /// lines are shown.
    #[arg(long)]
    pub update: bool,
    /// Print the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print no warnings, nor the line saying what was done.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct UnenrollArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The image to remove.
    pub name: String,
    /// Print the diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print no warnings, nor the line saying what was done.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum UpdatesCommand {
    /// Read every update target and report what would fail at promotion
    /// time. Exit 0: every target checked, no problem; 1: problems found;
    /// 2: the check could not run (bad input, a repository could not be
    /// fetched: some targets were not checked).
    Check(UpdatesCheckArgs),
}

#[derive(Debug, Args)]
pub struct UpdatesCheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// A local checkout holding targets (and Argo CD Applications to
    /// check). It stands for the repository and branch it is a checkout of
    /// (git's `origin` and current branch); `REPO=DIR` names the repository
    /// (`org/deploy` or a URL). Repeatable. A directory that is not a git
    /// checkout stands for the one repository every target names. Targets
    /// of other repositories or branches are fetched.
    #[arg(long, value_name = "[REPO=]DIR")]
    pub workspace: Vec<String>,
    /// Check for Kargo's update steps, or for Flux's setter markers (each
    /// target line must end in the right `# {"$imagepolicy": …}` comment).
    #[arg(long, value_enum, default_value_t = Target::Kargo)]
    pub target: Target,
    /// `json`: every target and Argo CD Application checked, with its
    /// problems, in the documented, stable shape (see the guide); errors too.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file.
    #[arg(value_enum, default_value = "images")]
    pub file: SchemaFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaFile {
    Images,
    Settings,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The managed image.
    pub image: String,
    /// `json`: the same facts in the documented, stable shape (see the guide);
    /// errors too, as `{"errors": [...]}` on standard output.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// Text for people, or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["image", "base"])))]
pub struct EmergencyArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Rebuild this managed image (and what is built on it).
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// Rebuild every image built on this base image: its state name, its
    /// reference (`node:22`, `docker.io/library/node:22`) or an enrolled image.
    #[arg(long, value_name = "NAME|REF")]
    pub base: Option<String>,
    /// Why (recorded in the audit trail). Required.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who (default: $USER, else $LOGNAME, else the login name of the user id).
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// With security gates (settings.yaml `security:`): take the newest
    /// Freight of each base even when the gate did not pass it (held, or not
    /// yet scanned). Recorded in the audit entry. Without it, the newest
    /// Freight verified in the base's soak Stage is taken.
    #[arg(long)]
    pub allow_unverified: bool,
    /// `json`: the plan (images, steps, audit entry, script) in the
    /// documented shape (see the guide); errors as `{"errors": [...]}` on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
#[command(mut_arg("dir", |a| a.alias("image-factory-dir")))]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// Where the source repositories' files are found (default: the directory above --dir).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Analyse only this image.
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
    /// The tag Kargo just built (recorded as currentVersion when it is a
    /// version); `-`: no build, only re-read the Dockerfile.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// The digest Kargo just built (recorded as currentDigest); `-`: no build.
    #[arg(long, value_name = "DIGEST")]
    pub digest: Option<String>,
    /// The target platform for TARGETOS, TARGETARCH and friends in FROM lines
    /// (without it, an image that differs per platform is reported as unresolved).
    #[arg(long, value_name = "OS/ARCH", value_parser = crate::dockerfile::platform_arg)]
    pub platform: Option<String>,
    /// Where to fetch source repositories from when a Dockerfile is not in the
    /// workspace (default: github.webURL / gitlab.url from the settings).
    #[arg(long, value_name = "URL")]
    pub source_base_url: Option<String>,
    #[command(flatten)]
    pub state: StateRepoArgs,
    /// A settings file to use instead of DIR/settings.yaml.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// `json`: what was discovered, written and failed, on stdout, in the
    /// documented shape (see the guide); errors too.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Accepted for AnalysisTemplates written for the cdk8s app; imgf reads these from images.yaml.
    #[arg(long, hide = true)]
    pub dockerfile: Option<String>,
    #[arg(long, hide = true)]
    pub source_repo: Option<String>,
    #[arg(long, hide = true)]
    pub source_provider: Option<String>,
    #[arg(long, hide = true)]
    pub git_repo: Option<String>,
    #[arg(long, hide = true)]
    pub git_branch: Option<String>,
}

/// Where state changes are recorded.
#[derive(Debug, Clone, Args)]
pub struct StateRepoArgs {
    /// Clone this repository (the one holding --dir) first and work in the clone.
    #[arg(long, value_name = "URL")]
    pub state_repo: Option<String>,
    /// The branch of --state-repo.
    #[arg(long, value_name = "BRANCH", default_value = "main")]
    pub state_branch: String,
    /// Commit every state change of the run in one commit.
    #[arg(long)]
    pub commit: bool,
    /// Push the commit, retrying on a concurrent push (implies --commit).
    #[arg(long)]
    pub push: bool,
    /// After writing state, regenerate the manifests into FILE (relative to
    /// the state repository's root with --state-repo) and commit them with the
    /// state, so GitOps applies what the new state says.
    #[arg(long, value_name = "FILE")]
    pub synth_output: Option<PathBuf>,
    /// The same for the Backstage catalog (`synth --target backstage`).
    #[arg(long, value_name = "FILE")]
    pub catalog_output: Option<PathBuf>,
    /// After writing state, regenerate TARGET's output (`synth --target
    /// TARGET`) into FILE and commit it with the state. Repeatable;
    /// `--synth-output FILE` is `--regenerate kargo=FILE` and
    /// `--catalog-output FILE` is `--regenerate backstage=FILE`.
    #[arg(long, value_name = "TARGET=FILE", value_parser = parse_regenerate)]
    pub regenerate: Vec<(Target, PathBuf)>,
}

impl StateRepoArgs {
    /// Every output to regenerate after writing state, in order: those of
    /// --synth-output and --catalog-output, then each --regenerate.
    pub fn outputs(&self) -> Vec<(Target, PathBuf)> {
        let legacy = [
            (Target::Kargo, &self.synth_output),
            (Target::Backstage, &self.catalog_output),
        ];
        legacy
            .into_iter()
            .filter_map(|(t, o)| Some((t, o.clone()?)))
            .chain(self.regenerate.iter().cloned())
            .collect()
    }
}

/// `TARGET=FILE` of `--regenerate`.
fn parse_regenerate(s: &str) -> Result<(Target, PathBuf), String> {
    use clap::ValueEnum;
    let (target, file) = s.split_once('=').ok_or_else(|| {
        format!("expected TARGET=FILE (like `kargo=dist/image-factory.k8s.yaml`), got `{s}`")
    })?;
    let target = Target::from_str(target, false)?;
    if file.is_empty() {
        return Err(format!("`{s}` names no file after `=`"));
    }
    Ok((target, PathBuf::from(file)))
}

#[derive(Debug, Args)]
pub struct RecordUpdateArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// The base image (its state file name, or a reference like `node:22`).
    #[arg(long, value_name = "NAME")]
    pub base: String,
    /// The new digest behind its tag.
    #[arg(long, value_name = "DIGEST")]
    pub digest: String,
    #[command(flatten)]
    pub state: StateRepoArgs,
}

#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// The base images of a Dockerfile.
    Dockerfile(InspectDockerfileArgs),
    /// How an image reference is normalised and named.
    Ref(InspectRefArgs),
}

/// Output formats of `imgf inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectDockerfileArgs {
    /// The Dockerfile.
    pub path: PathBuf,
    /// A build argument, overriding an ARG default (repeatable).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// The target platform for TARGETOS, TARGETARCH and friends (without it,
    /// an image that differs per platform is reported as unresolved).
    #[arg(long, value_name = "OS/ARCH", value_parser = crate::dockerfile::platform_arg)]
    pub platform: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: InspectFormat,
}

#[derive(Debug, Args)]
pub struct InspectRefArgs {
    /// The image reference, like `node:22` or `ghcr.io/org/app@sha256:…`.
    pub reference: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: InspectFormat,
}

/// `--dir`, defined once for every command that reads or writes the
/// enrollment (`analyze` also accepts the cdk8s app's `--image-factory-dir`).
#[derive(Debug, Clone, Args)]
pub struct DirArg {
    /// The directory holding images.yaml and the state files.
    #[arg(
        long = "dir",
        id = "dir",
        default_value = "image-factory",
        value_name = "DIR",
        value_hint = clap::ValueHint::DirPath
    )]
    pub path: PathBuf,
}

/// Where the enrollment lives and the settings that override it.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    #[command(flatten)]
    pub dir: DirArg,
    /// A settings file to use instead of DIR/settings.yaml.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// The Kargo project (and namespace) name; overrides the settings file.
    #[arg(long, value_name = "NAME")]
    pub project: Option<String>,
    /// The container image that runs `imgf analyze`; overrides the settings file.
    #[arg(long, value_name = "IMAGE")]
    pub analysis_image: Option<String>,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// What to generate.
    #[arg(long, value_enum, default_value = "kargo")]
    pub target: Target,
    /// Where to write the output; `-` for standard output [default, beside
    /// --dir in the directory that holds it: dist/image-factory.k8s.yaml,
    /// dist/image-factory.flux.yaml for --target flux, or
    /// dist/catalog-info.yaml for --target backstage].
    #[arg(long, short, value_name = "FILE|-")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 with a diff if the output file is out of date.
    #[arg(long)]
    pub check: bool,
    /// Do not print warnings, nor the line saying what was written.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The formats of `imgf graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart
    Mermaid,
    /// Graphviz dot
    Dot,
    /// Nodes, edges and the rebuild order
    Json,
    /// One self-contained interactive page (open it in a browser)
    Html,
}

impl From<GraphFormat> for crate::ops::graph::Format {
    fn from(f: GraphFormat) -> Self {
        match f {
            GraphFormat::Mermaid => Self::Mermaid,
            GraphFormat::Dot => Self::Dot,
            GraphFormat::Json => Self::Json,
            GraphFormat::Html => Self::Html,
        }
    }
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: GraphFormat,
}

#[cfg(test)]
mod tests {
    use super::ColorWhen;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn colour_follows_the_flag_then_the_environment_then_the_terminal() {
        use ColorWhen::{Always, Auto, Never};
        assert!(Auto.enabled(true, env(&[])));
        assert!(!Auto.enabled(false, env(&[])));
        assert!(!Auto.enabled(true, env(&[("NO_COLOR", "1")])));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(Auto.enabled(true, env(&[("NO_COLOR", "")])));
        assert!(Auto.enabled(false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!Auto.enabled(false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!Auto.enabled(true, env(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")])));
        assert!(!Auto.enabled(true, env(&[("CLICOLOR", "0")])));
        assert!(!Auto.enabled(true, env(&[("TERM", "dumb")])));
        // The flag beats the environment.
        assert!(Always.enabled(false, env(&[("NO_COLOR", "1")])));
        assert!(!Never.enabled(true, env(&[("CLICOLOR_FORCE", "1")])));
    }

    #[test]
    fn color_flag_is_found_before_parsing() {
        let args = |a: &[&str]| ColorWhen::from_args(a.iter().map(std::ffi::OsString::from));
        assert_eq!(args(&["imgf", "synth"]), None);
        assert_eq!(
            args(&["imgf", "--color", "always", "synth"]),
            Some(ColorWhen::Always)
        );
        assert_eq!(
            args(&["imgf", "synth", "--color=never"]),
            Some(ColorWhen::Never)
        );
        assert_eq!(
            args(&["imgf", "--color=never", "synth", "--color", "always"]),
            Some(ColorWhen::Always)
        );
        assert_eq!(args(&["imgf", "--color", "sometimes"]), None);
        assert_eq!(args(&["imgf", "--", "--color", "always"]), None);
        assert_eq!(args(&["imgf", "--colorful"]), None);
    }

    #[test]
    fn regenerate_takes_target_and_file_and_the_old_flags_are_aliases() {
        use super::{Cli, Command, Target};
        use clap::Parser;
        use std::path::PathBuf;
        let cli = Cli::try_parse_from([
            "imgf",
            "record-update",
            "--base",
            "node",
            "--digest",
            "sha256:x",
            "--catalog-output",
            "dist/catalog-info.yaml",
            "--synth-output",
            "dist/image-factory.k8s.yaml",
            "--regenerate",
            "flux=dist/image-factory.flux.yaml",
        ])
        .unwrap();
        let Command::RecordUpdate(args) = cli.command else {
            panic!("not record-update");
        };
        assert_eq!(
            args.state.outputs(),
            [
                (Target::Kargo, PathBuf::from("dist/image-factory.k8s.yaml")),
                (Target::Backstage, PathBuf::from("dist/catalog-info.yaml")),
                (Target::Flux, PathBuf::from("dist/image-factory.flux.yaml")),
            ]
        );
        for bad in ["flux", "gitlab=x.yaml", "kargo="] {
            assert!(super::parse_regenerate(bad).is_err(), "{bad}");
        }
    }
}
