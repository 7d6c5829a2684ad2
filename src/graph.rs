//! Step 3 of synth: the base-image dependency graph. Pure.
//!
//! Nodes are images; an edge `base → dependent` says the dependent is built
//! on the base. Upstream images only ever appear as bases, so a cycle can
//! only run through managed images — and is an error that names it. The
//! graph also gives the order in which managed images rebuild (bases first)
//! and renders itself as Mermaid, Graphviz dot or JSON for `imgf graph`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::model::{BaseRef, Model, UpstreamKind};

/// A node: an image of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Managed(usize),
    Upstream(usize),
}

impl From<BaseRef> for Node {
    fn from(b: BaseRef) -> Node {
        match b {
            BaseRef::Managed(i) => Node::Managed(i),
            BaseRef::Upstream(i) => Node::Upstream(i),
        }
    }
}

/// The dependency graph of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// `(base, dependent)` pairs, dependents in model order, bases in the
    /// order each image lists them.
    pub edges: Vec<(Node, usize)>,
    /// Managed images, every image after all of its managed bases.
    pub order: Vec<usize>,
}

/// Builds the graph; fails on a cycle, naming it.
pub fn build(model: &Model) -> Result<Graph, Diagnostic> {
    let edges = model
        .managed
        .iter()
        .enumerate()
        .flat_map(|(i, m)| m.bases.iter().map(move |b| (Node::from(*b), i)))
        .collect();
    let order = topo_order(model)?;
    Ok(Graph { edges, order })
}

/// Depth-first topological order of managed images; a back edge is a cycle.
fn topo_order(model: &Model) -> Result<Vec<usize>, Diagnostic> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = model.managed.len();
    let mut mark = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS (deep chains must not overflow the stack).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let bases = &model.managed[node].bases;
            if let Some(base) = bases.get(*next) {
                *next += 1;
                if let BaseRef::Managed(b) = *base {
                    match mark[b] {
                        Mark::New => {
                            mark[b] = Mark::Active;
                            stack.push((b, 0));
                        }
                        Mark::Active => {
                            let pos = stack.iter().position(|(x, _)| *x == b).unwrap_or(0);
                            let mut cycle: Vec<&str> = stack[pos..]
                                .iter()
                                .map(|(x, _)| model.managed[*x].name.as_str())
                                .collect();
                            cycle.push(&model.managed[b].name);
                            cycle.reverse();
                            return Err(Diagnostic::error(format!(
                                "the images are built on each other in a cycle: {}",
                                cycle.join(" → ")
                            ))
                            .help("an image cannot be its own (indirect) base; fix the FROM lines of one of these images, then run `imgf analyze`"));
                        }
                        Mark::Done => {}
                    }
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Output formats of `imgf graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Mermaid,
    Dot,
    Json,
}

impl Graph {
    /// Renders the graph; deterministic for a given model.
    pub fn render(&self, model: &Model, format: Format) -> String {
        match format {
            Format::Mermaid => self.mermaid(model),
            Format::Dot => self.dot(model),
            Format::Json => self.json(model),
        }
    }

    fn label(model: &Model, node: Node) -> (String, String, &'static str) {
        match node {
            Node::Managed(i) => (format!("m{i}"), model.managed[i].name.clone(), "managed"),
            Node::Upstream(i) => {
                let u = &model.upstream[i];
                let kind = match u.kind {
                    UpstreamKind::Base => "base",
                    UpstreamKind::External => "external",
                };
                let tag = u.tag.as_deref().map_or(String::new(), |t| format!(":{t}"));
                (format!("u{i}"), format!("{}{tag}", u.repo_url), kind)
            }
        }
    }

    fn nodes(&self, model: &Model) -> Vec<Node> {
        let mut nodes: Vec<Node> = (0..model.upstream.len()).map(Node::Upstream).collect();
        nodes.extend((0..model.managed.len()).map(Node::Managed));
        nodes
    }

    fn mermaid(&self, model: &Model) -> String {
        let mut out = String::from("graph LR\n");
        for node in self.nodes(model) {
            let (id, label, kind) = Self::label(model, node);
            let label = label.replace('"', "#quot;");
            match kind {
                "managed" => writeln!(out, "  {id}[\"{label}\"]"),
                _ => writeln!(out, "  {id}([\"{label}\"])"),
            }
            .expect("writing to a String cannot fail");
        }
        for (base, dep) in &self.edges {
            let (from, ..) = Self::label(model, *base);
            writeln!(out, "  {from} --> m{dep}").expect("writing to a String cannot fail");
        }
        out
    }

    fn dot(&self, model: &Model) -> String {
        let mut out = String::from("digraph images {\n  rankdir=LR;\n");
        for node in self.nodes(model) {
            let (id, label, kind) = Self::label(model, node);
            let shape = if kind == "managed" { "box" } else { "ellipse" };
            let label = label.replace('\\', "\\\\").replace('"', "\\\"");
            writeln!(out, "  {id} [label=\"{label}\", shape={shape}];")
                .expect("writing to a String cannot fail");
        }
        for (base, dep) in &self.edges {
            let (from, ..) = Self::label(model, *base);
            writeln!(out, "  {from} -> m{dep};").expect("writing to a String cannot fail");
        }
        out.push_str("}\n");
        out
    }

    fn json(&self, model: &Model) -> String {
        #[derive(Serialize)]
        struct J<'a> {
            nodes: Vec<JNode<'a>>,
            edges: Vec<JEdge<'a>>,
            #[serde(rename = "rebuildOrder")]
            rebuild_order: Vec<&'a str>,
        }
        #[derive(Serialize)]
        struct JNode<'a> {
            name: &'a str,
            kind: &'static str,
            #[serde(rename = "repoURL")]
            repo_url: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            tag: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct JEdge<'a> {
            base: &'a str,
            dependent: &'a str,
        }
        let node = |n: Node| -> JNode<'_> {
            match n {
                Node::Managed(i) => JNode {
                    name: &model.managed[i].name,
                    kind: "managed",
                    repo_url: &model.managed[i].repo_url,
                    tag: None,
                },
                Node::Upstream(i) => JNode {
                    name: &model.upstream[i].name,
                    kind: match model.upstream[i].kind {
                        UpstreamKind::Base => "base",
                        UpstreamKind::External => "external",
                    },
                    repo_url: &model.upstream[i].repo_url,
                    tag: model.upstream[i].tag.as_deref(),
                },
            }
        };
        let j = J {
            nodes: self.nodes(model).into_iter().map(node).collect(),
            edges: self
                .edges
                .iter()
                .map(|(b, d)| JEdge {
                    base: node(*b).name,
                    dependent: &model.managed[*d].name,
                })
                .collect(),
            rebuild_order: self
                .order
                .iter()
                .map(|i| model.managed[*i].name.as_str())
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&j).expect("graph JSON is always serializable");
        s.push('\n');
        s
    }
}
