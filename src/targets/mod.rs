//! Step 4 of synth: from the model and the graph to the objects of one output
//! target. Pure: no I/O, clock or environment.
//!
//! A target is a folder (or a file) here: [`kargo`] (Warehouses and Stages),
//! [`backstage`] (catalog entities), [`flux`] (Flux image automation), [`diagram`]
//! (the graph drawn for people). Each declares its output as a
//! table of object [`Family`] rows; [`Output`] derives the length, the i-th
//! object and the names to check from that table, so they can never disagree.
//! Adding a family is one file and one row; adding a target is one folder
//! and a row in [`Target`] (its [`Spec`]).

pub mod backstage;
pub mod diagram;
pub mod flux;
pub mod k8s;
pub mod kargo;

use std::hash::DefaultHasher;

use crate::config::settings::Settings;
use crate::diagnostic::{Diagnostic, Error};
use crate::emit::Rendering;
use crate::graph::Graph;
use crate::load::Inputs;
use crate::model::Model;

/// The output targets of `imgf synth` (and `--target` of the commands that
/// take one). Everything a command needs to know of a target is in its row
/// of the table, [`Target::spec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Kargo Warehouses and Stages (dist/image-factory.k8s.yaml).
    Kargo,
    /// Flux image automation (dist/image-factory.flux.yaml).
    Flux,
    /// Backstage catalog entities (dist/catalog-info.yaml).
    Backstage,
}

impl Target {
    /// The target's row: adding a target is its folder and one line here.
    pub fn spec(self) -> &'static Spec {
        match self {
            Target::Kargo => &kargo::SPEC,
            Target::Flux => &flux::SPEC,
            Target::Backstage => &backstage::SPEC,
        }
    }

    /// The name `--target` takes (`kargo`, `flux`, `backstage`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Kargo => "kargo",
            Target::Flux => "flux",
            Target::Backstage => "backstage",
        }
    }
}

/// What the commands know of a target: one row per target, declared in the
/// target's folder and looked up by [`Target::spec`].
pub struct Spec {
    /// Where `imgf synth` writes, relative to the directory that holds `--dir`.
    pub default_output: &'static str,
    /// The comment lines that open the output (not written in JSON).
    pub header: &'static str,
    /// A `---` stream of objects, or one JSON or YAML document.
    pub format: crate::emit::Format,
    /// What this target alone refuses in the inputs: errors added to the
    /// merge's problems (`None` when the merge itself failed).
    pub refusals: fn(&Inputs, Option<&Model>) -> Vec<Diagnostic>,
    /// The target's own warnings about a merged model; an error among them
    /// fails the run (with the merge's warnings).
    pub warnings: fn(&Inputs, &Model) -> Vec<Diagnostic>,
    /// Whether the target reads [`Model::catalog`]; the merge leaves it
    /// empty for one that does not.
    pub catalog: bool,
    /// The objects of the target, ready to write in [`Spec::format`].
    pub render: for<'a> fn(&'a Model, &'a Graph, &'a Settings) -> Result<Rendering<'a>, Error>,
    /// The `imgf analyze` / `record-update` flag that named this target's
    /// regenerated output before `--regenerate TARGET=FILE`; the analysis Job
    /// still passes it, so the generated manifests do not change.
    pub legacy_regenerate_flag: Option<&'static str>,
}

impl Spec {
    /// The target's objects as a [`Rendering`] in its format and header:
    /// `len` objects, object `i` made by `make(i)`.
    pub fn rendering<'a, D: serde::Serialize>(
        &'static self,
        len: usize,
        make: impl Fn(usize) -> D + Sync + 'a,
    ) -> Rendering<'a> {
        self.format.rendering(self.header, len, make)
    }
}

/// No refusals of its own: every input the merge takes is fine.
pub fn refuses_nothing(_: &Inputs, _: Option<&Model>) -> Vec<Diagnostic> {
    Vec::new()
}

/// One family of objects: how many the plan holds, the kind and name of
/// each (known before anything is built), and how to build one.
pub struct Family<P, O> {
    pub count: fn(&P) -> usize,
    pub name: fn(&P, usize) -> (&'static str, String),
    pub build: fn(&P, usize) -> O,
}

/// A target's output, built on demand: object `i` is made when asked for,
/// so a large enrollment never holds all its typed objects at once.
pub struct Output<P, O> {
    plan: P,
    families: Vec<Family<P, O>>,
}

impl<P, O> Output<P, O> {
    /// The output of `plan`, in the order of `families`; fails if two objects
    /// of a kind would share a name.
    pub fn new(plan: P, families: Vec<Family<P, O>>) -> Result<Output<P, O>, Error>
    where
        P: Sync,
    {
        let out = Output { plan, families };
        out.check_unique()?;
        Ok(out)
    }

    /// How many objects the output holds.
    pub fn len(&self) -> usize {
        self.families.iter().map(|f| (f.count)(&self.plan)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Object `i` (`i < len()`).
    pub fn get(&self, mut i: usize) -> O {
        for f in &self.families {
            let n = (f.count)(&self.plan);
            if i < n {
                return (f.build)(&self.plan, i);
            }
            i -= n;
        }
        panic!("object index out of range")
    }

    /// Every object, built at once (for library users and tests).
    pub fn build_all(&self) -> Vec<O> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// `(kind, name)` of every object, in output order, without building them.
    pub fn names(&self) -> Vec<(&'static str, String)>
    where
        P: Sync,
    {
        let objects: Vec<(usize, usize)> = self
            .families
            .iter()
            .enumerate()
            .flat_map(|(f, family)| (0..(family.count)(&self.plan)).map(move |i| (f, i)))
            .collect();
        crate::par::map(&objects, |&(f, i)| (self.families[f].name)(&self.plan, i))
    }

    fn check_unique(&self) -> Result<(), Error>
    where
        P: Sync,
    {
        let names = self.names();
        if let Some((_, name)) = crate::par::map_pieces(&names, 4096, |part| {
            part.iter()
                .find(|(_, name)| !crate::names::is_valid_object_name(name))
                .cloned()
        })
        .into_iter()
        .flatten()
        .next()
        {
            return Err(Error::Internal(format!(
                "generated an invalid name `{name}`"
            )));
        }
        // Tens of thousands of names: hashed in parallel, then the (hash,
        // index) pairs sorted, and only names with equal hashes compared.
        // Each duplicate is reported with the latest object before it of
        // the same kind and name, in output order.
        let hashes = crate::par::map(&names, |n| {
            std::hash::BuildHasher::hash_one(
                &std::hash::BuildHasherDefault::<DefaultHasher>::default(),
                n,
            )
        });
        let mut order: Vec<(u64, usize)> = hashes.into_iter().zip(0..).collect();
        order.sort_unstable();
        let mut duplicates: Vec<(usize, usize)> = Vec::new();
        for group in order.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            for (k, &(_, i)) in group.iter().enumerate() {
                if let Some(&(_, first)) =
                    group[..k].iter().rev().find(|(_, j)| names[*j] == names[i])
                {
                    duplicates.push((i, first));
                }
            }
        }
        duplicates.sort_unstable();
        let problems: Vec<Diagnostic> = duplicates
            .into_iter()
            .map(|(i, first)| {
                let (kind, name) = &names[i];
                Diagnostic::error(format!(
                    "two generated {kind}s would both be named `{name}` (objects {} and {} of the output)",
                    first + 1,
                    i + 1
                ))
                .help("two images or base images map to the same generated name; rename one of the images")
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Input(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plan(Vec<&'static str>, Vec<&'static str>);

    fn output(a: Vec<&'static str>, b: Vec<&'static str>) -> Result<Output<Plan, String>, Error> {
        Output::new(
            Plan(a, b),
            vec![
                Family {
                    count: |p| p.0.len(),
                    name: |p, i| ("Stage", p.0[i].to_string()),
                    build: |p, i| p.0[i].to_string(),
                },
                Family {
                    count: |p| p.1.len(),
                    name: |p, i| ("Stage", p.1[i].to_string()),
                    build: |p, i| p.1[i].to_string(),
                },
            ],
        )
    }

    #[test]
    fn length_order_and_names_come_from_the_table() {
        let out = output(vec!["a", "b"], vec!["c"]).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out.build_all(), ["a", "b", "c"]);
        assert_eq!(out.names()[2], ("Stage", "c".to_string()));
    }

    #[test]
    fn a_name_two_families_share_is_an_error() {
        let Err(Error::Input(d)) = output(vec!["a", "record-x"], vec!["record-x"]) else {
            panic!("duplicate accepted");
        };
        assert!(d[0].message.contains("`record-x`"), "{}", d[0].message);
        assert!(d[0].message.contains("objects 2 and 3"), "{}", d[0].message);
    }

    #[test]
    fn each_duplicate_is_reported_once_in_output_order_with_the_one_before_it() {
        // Many names (the check hashes in parallel), three of one, two of
        // another, in both families.
        let many: Vec<&'static str> = (0..5_000)
            .map(|i| &*Box::leak(format!("n{i}").into_boxed_str()))
            .collect();
        let mut a = many.clone();
        a.extend(["x", "y", "x"]);
        let Err(Error::Input(d)) = output(a, vec!["y", "x"]) else {
            panic!("duplicates accepted");
        };
        let pairs: Vec<&str> = d
            .iter()
            .map(|d| {
                let m = &d.message;
                &m[m.find('`').unwrap()..]
            })
            .collect();
        assert_eq!(
            pairs,
            [
                "`x` (objects 5001 and 5003 of the output)",
                "`y` (objects 5002 and 5004 of the output)",
                "`x` (objects 5003 and 5005 of the output)",
            ]
        );
    }

    #[test]
    fn every_target_has_a_row_and_its_cli_name() {
        use clap::ValueEnum;
        let mut outputs = std::collections::HashSet::new();
        for t in Target::value_variants() {
            let v = t.to_possible_value().unwrap();
            assert_eq!(v.get_name(), t.name());
            assert!(
                outputs.insert(t.spec().default_output),
                "{} shares its default output",
                t.name()
            );
            assert!(t.spec().default_output.starts_with("dist/"));
        }
    }
}
