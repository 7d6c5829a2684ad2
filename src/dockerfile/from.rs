//! What each FROM names: a base image, a stage declared earlier, `scratch`,
//! or an image that cannot be determined (unresolved, with its line).

use super::expand::{expand, platform_args, split_words, Env};
use super::scan::Scanned;
use super::{BaseImage, Bases, Options, ParseError, Unresolved, DEFAULT_PLATFORM};
use crate::image_ref::ImageRef;

/// Resolves the FROM lines of a scanned Dockerfile.
pub(super) fn resolve(scanned: &Scanned, opts: &Options) -> Result<Bases, ParseError> {
    let escape = scanned.escape;

    let mut env = Env::default();
    let platform = opts.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    for (k, v) in platform_args(platform) {
        env.vars.insert(k.to_string(), Some(v));
        env.platform.push(k);
    }
    let mut out = Bases {
        base_images: Vec::new(),
        unresolved: Vec::new(),
        stage_count: 0,
    };
    let mut stages: Vec<String> = Vec::new();
    for ins in &scanned.instructions {
        match ins.keyword.as_str() {
            "arg" if out.stage_count == 0 => {
                for word in split_words(&ins.args, escape) {
                    let (name, default) = match word.split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v.to_string())),
                        None => (word.clone(), None),
                    };
                    let value = match opts.build_args.get(&name) {
                        Some(v) => Some(v.clone()),
                        None => default.map(|d| expand(&d, &env, escape).value),
                    };
                    env.platform.retain(|p| *p != name);
                    env.vars.insert(name, value);
                }
            }
            "from" => {
                out.stage_count += 1;
                let Some(from) = FromArgs::parse(&ins.args) else {
                    let (line, column) = ins.position(ins.args.len());
                    return Err(ParseError {
                        line,
                        column,
                        message: "FROM needs an image".into(),
                        help: "write the base image after FROM, like `FROM alpine:3.20`".into(),
                    });
                };
                let ex = expand(&from.image, &env, escape);
                if let Some(alias) = &from.alias {
                    stages.push(alias.to_ascii_lowercase());
                }
                let mut unresolved = |args: Vec<String>, reason: String| {
                    if !out.unresolved.iter().any(|u| u.from == from.image) {
                        out.unresolved.push(Unresolved {
                            line: ins.line,
                            from: from.image.clone(),
                            args,
                            reason,
                        });
                    }
                };
                if !ex.unset.is_empty() {
                    let reason = format!("needs a value for {}", ex.unset.join(", "));
                    unresolved(ex.unset, reason);
                    continue;
                }
                let value = ex.value;
                // Only names declared *before* this FROM are stages.
                let declared_before = &stages[..stages.len() - usize::from(from.alias.is_some())];
                if value == "scratch" || declared_before.contains(&value) {
                    continue;
                }
                if !ex.platform.is_empty() && opts.platform.is_none() {
                    let reason = format!(
                        "the image depends on the target platform ({}); for {DEFAULT_PLATFORM} it is `{value}` (pass --platform to choose one)",
                        ex.platform.join(", ")
                    );
                    unresolved(ex.platform, reason);
                    continue;
                }
                match ImageRef::parse(&value) {
                    Ok(image) => {
                        if !out.base_images.iter().any(|b| b.image == image) {
                            out.base_images.push(BaseImage {
                                reference: value,
                                image,
                                line: ins.line,
                            });
                        }
                    }
                    Err(why) => unresolved(
                        Vec::new(),
                        format!("`{value}` is not a valid image reference: {why}"),
                    ),
                }
            }
            _ => {}
        }
    }
    if out.stage_count == 0 {
        return Err(ParseError {
            line: 1,
            column: 1,
            message: "the Dockerfile has no FROM instruction".into(),
            help: "start the build with `FROM <image>`, like `FROM alpine:3.20`".into(),
        });
    }
    Ok(out)
}

/// `FROM [--flag=…]… image [AS name]`.
struct FromArgs {
    image: String,
    alias: Option<String>,
}

impl FromArgs {
    fn parse(args: &str) -> Option<FromArgs> {
        let mut words = args.split_whitespace().skip_while(|w| w.starts_with("--"));
        let image = words.next()?.to_string();
        let alias = match (words.next(), words.next()) {
            (Some(k), Some(name)) if k.eq_ignore_ascii_case("as") => Some(name.to_string()),
            _ => None,
        };
        Some(FromArgs { image, alias })
    }
}
