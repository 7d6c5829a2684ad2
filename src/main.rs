//! The `imgf` binary: parse the arguments, decide how to use the terminal,
//! run, map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use imgf::cli::{Cli, ColorWhen};

/// The exit status of a panic: a bug in imgf, like [`imgf::Error::Internal`]
/// (Rust's own would be 101).
const PANIC_EXIT: u8 = 3;

// The allocator. A synth of 10,000 images makes about 3.7 million
// allocations (typed objects, their strings, parsed state), most of them
// small and short-lived, on two threads. With glibc's allocator that is a
// fifth of the run's CPU (its free lists, its arenas' locks and the page
// faults of memory it hands back and takes again); mimalloc's thread-local
// pages and transparent huge pages cut the seed layout's 10,000 images from
// about 280 to 250 ms, and 1,000 from 38 to 32 ms (docs/src/performance.md),
// for a peak of 72 MiB instead of 57 MiB, within the 80 MB the benchmark
// allows. The release binaries are also built for musl, whose allocator is
// slower still (ripgrep ships jemalloc there for that reason).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Any panic is a bug: say so, and exit 3 as documented. The default
    // hook's message comes first (it ignores a closed stderr). The panic
    // unwinds to here — from other threads too, which are joined — so
    // temporary files are removed on the way.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error in imgf (please report it)"
        );
    }));
    std::panic::catch_unwind(run).unwrap_or(ExitCode::from(PANIC_EXIT))
}

fn run() -> ExitCode {
    // `COMPLETE=SHELL imgf -- WORDS…` (what the scripts of `imgf
    // completions` run at each Tab): print the completions and exit.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    clap_complete::CompleteEnv::with_factory(|| imgf::completing_command(&args))
        .var(imgf::COMPLETE_VAR)
        .complete();
    // `--color` is read before clap parses, so clap's help and usage errors
    // follow it too.
    let when = ColorWhen::from_args(std::env::args_os()).unwrap_or_default();
    let matches = Cli::command().color(when.for_clap()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (stdout, stderr) = (std::io::stdout(), std::io::stderr());
    let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let ui = imgf::Ui {
        colour: cli.color.enabled(stderr.is_terminal(), env),
        // A dumb terminal cannot clear a line.
        progress: stderr.is_terminal() && env("TERM").as_deref() != Some("dumb"),
        stdout_discarded: stdout_is_dev_null(),
    };
    // Not locked for the run: a panic on another thread writes to stderr
    // too (see the hook above).
    let mut messages = Messages(stderr);
    match imgf::run_with(cli, ui, &mut stdout.lock(), &mut messages) {
        Ok(status) => ExitCode::from(status.code()),
        Err(imgf::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Not `eprintln!`: it panics when stderr is closed, and the exit
            // status must still say what happened.
            let _ = writeln!(messages, "{}", e.render(ui.colour));
            ExitCode::from(e.exit_code())
        }
    }
}

/// stderr as the commands see it: messages are for whoever reads them, so
/// one that cannot be written (stderr closed, a full disk) is dropped; it
/// never stops the run or changes its exit status.
struct Messages<W>(W);

impl<W: Write> Write for Messages<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Whether stdout is /dev/null — what it is after `>/dev/null`, and after
/// `>&-` too: Rust's runtime opens /dev/null in place of a closed standard
/// descriptor, so writes to it "succeed".
fn stdout_is_dev_null() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let (Ok(out), Ok(null)) = (
            std::fs::metadata("/dev/stdout"),
            std::fs::metadata("/dev/null"),
        ) else {
            return false;
        };
        out.file_type().is_char_device() && out.rdev() == null.rdev()
    }
    #[cfg(not(unix))]
    {
        false
    }
}
