//! `imgf graph`: the image graph as one [`Report`] (nodes, edges, rebuild
//! order, cycles), which `--format json` writes; Mermaid, dot and HTML draw
//! the same graph ([`crate::targets::diagram`]). A cycle is drawn, not
//! refused: each is a warning ([`cycle_warnings`]).

use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::graph::{Graph, Node};
use crate::model::{Model, UpstreamKind};
use crate::targets::diagram;

/// The output formats of `imgf graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Mermaid,
    Dot,
    /// The [`Report`].
    Json,
    Html,
}

/// `graph --format json`: stable, fields are only ever added.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Report {
    /// Upstream images (bases and external images), then managed images,
    /// in model order.
    nodes: Vec<ReportNode>,
    /// Each base of each managed image (`base` is built into `dependent`).
    edges: Vec<ReportEdge>,
    /// Managed images, bases before the images built on them.
    #[serde(rename = "rebuildOrder")]
    rebuild_order: Vec<String>,
    /// Each cycle's images, each a base of the next and the last a base of
    /// the first (synth refuses them; graph draws them). Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cycles: Vec<Vec<String>>,
}

/// An image of the graph.
#[derive(Debug, Serialize, JsonSchema)]
struct ReportNode {
    name: String,
    /// `base`, `external` or `managed`.
    kind: &'static str,
    #[serde(rename = "repoURL")]
    repo_url: String,
    /// The watched tag of an upstream image (absent for managed images, and
    /// for an upstream image watched by digest or policy alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<String>,
}

/// `base` is built into `dependent`.
#[derive(Debug, Serialize, JsonSchema)]
struct ReportEdge {
    base: String,
    dependent: String,
    /// Part of a cycle (absent when not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cycle: bool,
}

impl Report {
    /// The report of `graph`, drawn from `model`.
    pub(crate) fn new(graph: &Graph, model: &Model) -> Report {
        let node = |n: Node| -> ReportNode {
            match n {
                Node::Managed(i) => ReportNode {
                    name: model.managed[i].name.clone(),
                    kind: "managed",
                    repo_url: model.managed[i].repo_url.clone(),
                    tag: None,
                },
                Node::Upstream(i) => ReportNode {
                    name: model.upstream[i].name.clone(),
                    kind: match model.upstream[i].kind {
                        UpstreamKind::Base => "base",
                        UpstreamKind::External => "external",
                    },
                    repo_url: model.upstream[i].repo_url.clone(),
                    tag: model.upstream[i].tag.clone(),
                },
            }
        };
        let name = |n: Node| match n {
            Node::Managed(i) => model.managed[i].name.clone(),
            Node::Upstream(i) => model.upstream[i].name.clone(),
        };
        let nodes = (0..model.upstream.len())
            .map(Node::Upstream)
            .chain((0..model.managed.len()).map(Node::Managed))
            .map(node)
            .collect();
        Report {
            nodes,
            edges: (graph.edges.iter())
                .map(|(b, d)| ReportEdge {
                    base: name(*b),
                    dependent: model.managed[*d].name.clone(),
                    cycle: graph.in_cycle(*b, *d),
                })
                .collect(),
            rebuild_order: (graph.order.iter())
                .map(|i| model.managed[*i].name.clone())
                .collect(),
            cycles: (graph.cycles.iter())
                .map(|c| c.iter().map(|i| model.managed[*i].name.clone()).collect())
                .collect(),
        }
    }
}

/// One warning per cycle: the drawing highlights it, and synth refuses it.
pub(crate) fn cycle_warnings(graph: &Graph, model: &Model) -> Vec<Diagnostic> {
    graph
        .cycles
        .iter()
        .map(|c| {
            Diagnostic::warning(format!(
                "the images are built on each other in a cycle: {}; it is highlighted in the drawing, and `imgf synth` refuses it",
                crate::graph::cycle_text(model, c)
            ))
            .help(crate::graph::CYCLE_HELP)
        })
        .collect()
}

/// `graph` in `format`: the report as JSON, or a drawing. Deterministic
/// for a given model.
pub(crate) fn render(graph: &Graph, model: &Model, format: Format) -> String {
    let drawing = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&Report::new(graph, model))
                .expect("graph JSON is always serializable");
            s.push('\n');
            return s;
        }
        Format::Mermaid => diagram::Format::Mermaid,
        Format::Dot => diagram::Format::Dot,
        Format::Html => diagram::Format::Html,
    };
    diagram::render(graph, model, drawing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_conforms_to_its_schema() {
        let model = Model::sample();
        let graph = crate::graph::build(&model).unwrap();
        let report = Report::new(&graph, &model);
        assert_eq!(report.edges.len(), 1, "the sample has one edge to check");
        crate::ops::schema_check::assert_conforms(&report);
    }

    #[test]
    fn a_cycle_is_in_the_report_and_warned_about() {
        let mut model = Model::sample();
        let mut b = model.managed[0].clone();
        b.name = "b".into();
        b.bases = vec![crate::model::BaseRef::Managed(0)];
        model.managed[0].bases = vec![crate::model::BaseRef::Managed(1)];
        model.managed.push(b);
        let graph = crate::graph::build_for_drawing(&model);
        let report = Report::new(&graph, &model);
        assert_eq!(report.cycles.len(), 1);
        assert!(report.edges.iter().all(|e| e.cycle));
        assert_eq!(cycle_warnings(&graph, &model).len(), 1);
        crate::ops::schema_check::assert_conforms(&report);
    }
}
