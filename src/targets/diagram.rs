//! A target that draws rather than deploys: the dependency graph as
//! Mermaid, Graphviz dot or an interactive HTML page (`imgf graph`; its JSON
//! is the graph operation's report, `ops::graph`).

mod html;

use std::fmt::Write as _;

use crate::graph::{Graph, Node};
use crate::model::{Model, UpstreamKind};

/// The diagram formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
    /// One self-contained interactive page (`diagram/html.rs`).
    Html,
}

/// Renders the graph; deterministic for a given model.
pub fn render(graph: &Graph, model: &Model, format: Format) -> String {
    let d = Diagram { graph };
    match format {
        Format::Mermaid => d.mermaid(model),
        Format::Dot => d.dot(model),
        Format::Html => html::render(graph, model),
    }
}

struct Diagram<'a> {
    graph: &'a Graph,
}

impl Diagram<'_> {
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

    fn nodes(model: &Model) -> Vec<Node> {
        let mut nodes: Vec<Node> = (0..model.upstream.len()).map(Node::Upstream).collect();
        nodes.extend((0..model.managed.len()).map(Node::Managed));
        nodes
    }

    fn mermaid(&self, model: &Model) -> String {
        let mut out = String::from("graph LR\n");
        for node in Self::nodes(model) {
            let (id, label, kind) = Self::label(model, node);
            let label = label.replace('"', "#quot;");
            match kind {
                "managed" => writeln!(out, "  {id}[\"{label}\"]"),
                _ => writeln!(out, "  {id}([\"{label}\"])"),
            }
            .expect("writing to a String cannot fail");
        }
        for (base, dep) in &self.graph.edges {
            let (from, ..) = Self::label(model, *base);
            writeln!(out, "  {from} --> m{dep}").expect("writing to a String cannot fail");
        }
        // A cycle, in red: its images, and its edges (by position).
        if !self.graph.cycles.is_empty() {
            let (nodes, edges) = self.cycle_parts();
            let list = |v: Vec<String>| v.join(",");
            writeln!(
                out,
                "  classDef cycle stroke:#dc2626,stroke-width:3px\n  class {} cycle\n  linkStyle {} stroke:#dc2626,stroke-width:3px",
                list(nodes.iter().map(|i| format!("m{i}")).collect()),
                list(edges.iter().map(std::string::ToString::to_string).collect())
            )
            .expect("writing to a String cannot fail");
        }
        out
    }

    /// The managed images in a cycle, and the positions of its edges in
    /// `graph.edges`.
    fn cycle_parts(&self) -> (std::collections::BTreeSet<usize>, Vec<usize>) {
        let nodes = self.graph.cycles.iter().flatten().copied().collect();
        let edges = (self.graph.edges.iter().enumerate())
            .filter(|(_, (b, d))| self.graph.in_cycle(*b, *d))
            .map(|(k, _)| k)
            .collect();
        (nodes, edges)
    }

    fn dot(&self, model: &Model) -> String {
        let (cycle_nodes, cycle_edges) = self.cycle_parts();
        let mut out = String::from("digraph images {\n  rankdir=LR;\n");
        for node in Self::nodes(model) {
            let (id, label, kind) = Self::label(model, node);
            let shape = if kind == "managed" { "box" } else { "ellipse" };
            let label = label.replace('\\', "\\\\").replace('"', "\\\"");
            let red = match node {
                Node::Managed(i) if cycle_nodes.contains(&i) => ", color=red, penwidth=2",
                _ => "",
            };
            writeln!(out, "  {id} [label=\"{label}\", shape={shape}{red}];")
                .expect("writing to a String cannot fail");
        }
        for (k, (base, dep)) in self.graph.edges.iter().enumerate() {
            let (from, ..) = Self::label(model, *base);
            let red = if cycle_edges.contains(&k) {
                " [color=red, penwidth=2]"
            } else {
                ""
            };
            writeln!(out, "  {from} -> m{dep}{red};").expect("writing to a String cannot fail");
        }
        out.push_str("}\n");
        out
    }
}
