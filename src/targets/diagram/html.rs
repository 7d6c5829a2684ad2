//! `imgf graph --format html`: one self-contained page that draws the graph
//! interactively (layered layout, highlight of what a base affects, search).
//!
//! The page is a fixed template ([`TEMPLATE`]: HTML, CSS and JavaScript, no
//! external references) and one JSON data blob built here. Everything that
//! comes from the user (repository URLs, tags) reaches the page only inside
//! that blob, escaped so it cannot end the `<script>` element it sits in; the
//! script puts it on the page as text, never as markup.

use serde::Serialize;

use crate::duration;
use crate::graph::{Graph, Node};
use crate::model::{Model, UpstreamKind};

/// The page; [`PLACEHOLDER`] marks where the data goes.
const TEMPLATE: &str = include_str!("../../../templates/graph.html");

/// Where [`TEMPLATE`] takes the data, inside
/// `<script type="application/json" id="graph-data">`.
const PLACEHOLDER: &str = "/*IMGF-GRAPH-DATA*/";

/// The data the page draws. Nodes are upstream images, then managed images,
/// in model order; edges refer to them by index.
#[derive(Debug, Serialize)]
pub(super) struct Data<'a> {
    pub nodes: Vec<DataNode<'a>>,
    pub edges: Vec<DataEdge>,
    /// Upstream images drawn as one row that opens: the bases of one
    /// repository, and all external images. Only groups of two or more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<DataGroup>,
    /// Each cycle's images (node indices), each a base of the next and the
    /// last a base of the first. Synth refuses them; the page shows them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<Vec<usize>>,
}

/// A group of upstream images in the first column; the page starts with
/// the groups closed when there are many upstream images.
#[derive(Debug, Serialize)]
pub(super) struct DataGroup {
    /// `docker.io/library/node`, or `external images`.
    pub label: String,
    /// `base` or `external`.
    pub kind: &'static str,
    /// Node indices, in model order.
    pub members: Vec<usize>,
}

#[derive(Debug, Serialize)]
pub(super) struct DataNode<'a> {
    pub name: &'a str,
    /// `base`, `external` or `managed`.
    pub kind: &'static str,
    #[serde(rename = "repoURL")]
    pub repo_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<&'a str>,
    /// The column: 0 for upstream images, else one more than the deepest
    /// base (the longest path from an upstream image).
    pub layer: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'a str>,
    #[serde(rename = "rebuildDelay", skip_serializing_if = "Option::is_none")]
    pub rebuild_delay: Option<String>,
    #[serde(rename = "autoRebuild", skip_serializing_if = "Option::is_none")]
    pub auto_rebuild: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'a str>,
    /// Its group (an index into `groups`), for upstream images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// Part of a cycle.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
}

/// `from` is built into `to`: when `from` changes, `to` rebuilds after its
/// rebuild delay, by itself when `autoRebuild`.
#[derive(Debug, Serialize)]
pub(super) struct DataEdge {
    pub from: usize,
    pub to: usize,
    /// `base` (from an upstream image) or `cascade` (from a managed image).
    pub kind: &'static str,
    pub delay: String,
    #[serde(rename = "autoRebuild")]
    pub auto_rebuild: bool,
    /// Part of a cycle.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
}

/// The page for `graph`; deterministic for a given model.
pub(super) fn render(graph: &Graph, model: &Model) -> String {
    let json = serde_json::to_string(&data(graph, model)).expect("graph data always serializes");
    let (head, tail) = TEMPLATE
        .split_once(PLACEHOLDER)
        .expect("the template has a data placeholder");
    let escaped = escape_script_json(&json);
    let mut out = String::with_capacity(TEMPLATE.len() + escaped.len());
    out.push_str(head);
    out.push_str(&escaped);
    out.push_str(tail);
    out
}

/// The data blob of the page.
pub(super) fn data<'a>(graph: &Graph, model: &'a Model) -> Data<'a> {
    let ups = model.upstream.len();
    let index = |n: Node| match n {
        Node::Upstream(i) => i,
        Node::Managed(i) => ups + i,
    };
    // Longest path from an upstream image; `order` puts bases first.
    let mut layer = vec![1usize; model.managed.len()];
    for &i in &graph.order {
        layer[i] = 1 + model.managed[i]
            .bases
            .iter()
            .map(|b| match Node::from(*b) {
                Node::Upstream(_) => 0,
                Node::Managed(j) => layer[j],
            })
            .max()
            .unwrap_or(0);
    }
    let mut nodes: Vec<DataNode<'a>> = model
        .upstream
        .iter()
        .map(|u| DataNode {
            name: &u.name,
            kind: match u.kind {
                UpstreamKind::Base => "base",
                UpstreamKind::External => "external",
            },
            repo_url: &u.repo_url,
            tag: u.tag.as_deref(),
            layer: 0,
            provider: None,
            source: None,
            rebuild_delay: None,
            auto_rebuild: None,
            version: None,
            group: None,
            cycle: false,
        })
        .collect();
    // Groups: the bases of one repository, and the external images.
    let mut groups: Vec<DataGroup> = Vec::new();
    let mut by_key: std::collections::HashMap<(&'static str, &str), usize> =
        std::collections::HashMap::new();
    for (i, u) in model.upstream.iter().enumerate() {
        let key = match u.kind {
            UpstreamKind::Base => ("base", u.repo_url.as_str()),
            UpstreamKind::External => ("external", ""),
        };
        let g = *by_key.entry(key).or_insert_with(|| {
            groups.push(DataGroup {
                label: match u.kind {
                    UpstreamKind::Base => u.repo_url.clone(),
                    UpstreamKind::External => "external images".into(),
                },
                kind: key.0,
                members: Vec::new(),
            });
            groups.len() - 1
        });
        groups[g].members.push(i);
    }
    let mut kept = Vec::new();
    for g in groups.into_iter().filter(|g| g.members.len() >= 2) {
        for &m in &g.members {
            nodes[m].group = Some(kept.len());
        }
        kept.push(g);
    }
    let in_cycle: std::collections::HashSet<usize> =
        graph.cycles.iter().flatten().copied().collect();
    nodes.extend(model.managed.iter().enumerate().map(|(i, m)| DataNode {
        name: &m.name,
        kind: "managed",
        repo_url: &m.repo_url,
        tag: None,
        layer: layer[i],
        provider: Some(m.provider.as_str()),
        source: Some(&m.source_repo),
        rebuild_delay: Some(duration::human(m.rebuild_delay_secs)),
        auto_rebuild: Some(m.auto_rebuild),
        version: m.current_version.as_deref(),
        group: None,
        cycle: in_cycle.contains(&i),
    }));
    let edges = graph
        .edges
        .iter()
        .map(|&(base, dep)| DataEdge {
            from: index(base),
            to: ups + dep,
            kind: match base {
                Node::Upstream(_) => "base",
                Node::Managed(_) => "cascade",
            },
            delay: duration::human(model.managed[dep].rebuild_delay_secs),
            auto_rebuild: model.managed[dep].auto_rebuild,
            cycle: graph.in_cycle(base, dep),
        })
        .collect();
    let cycles = (graph.cycles.iter())
        .map(|c| c.iter().map(|i| ups + i).collect())
        .collect();
    Data {
        nodes,
        edges,
        groups: kept,
        cycles,
    }
}

/// JSON made safe inside `<script type="application/json">`: no `<` (so no
/// `</script>` nor `<!--`), `>` or `&`, and no U+2028/U+2029. Each becomes a
/// JSON `\u` escape, so the text still parses to the same value. Outside
/// strings JSON has none of these characters.
pub(super) fn escape_script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BaseRef, Upstream};

    /// The data blob of a rendered page.
    fn blob(page: &str) -> &str {
        let start = page
            .find(r#"<script type="application/json" id="graph-data">"#)
            .expect("data element");
        let rest = &page[start..];
        let open = rest.find('>').unwrap() + 1;
        let close = rest.find("</script>").unwrap();
        &rest[open..close]
    }

    fn sample() -> (Graph, Model) {
        let model = Model::sample();
        let graph = crate::graph::build(&model).unwrap();
        (graph, model)
    }

    #[test]
    fn the_template_is_self_contained_and_takes_the_data_once() {
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
        for external in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(
                !TEMPLATE.contains(external),
                "the page must not load anything: {external}"
            );
        }
        assert!(!TEMPLATE.contains(" src="), "no external scripts or images");
        assert!(!TEMPLATE.contains("innerHTML"), "data goes in as text only");
    }

    #[test]
    fn hostile_strings_cannot_leave_the_data_element() {
        let (_, mut model) = sample();
        let hostile = "evil</script><script>alert(1)</script><!-- & \u{2028}\u{2029} '\"\\";
        model.upstream[0].repo_url = format!("docker.io/{hostile}");
        model.upstream[0].tag = Some(hostile.to_string());
        model.upstream.push(Upstream {
            name: "ext".into(),
            kind: UpstreamKind::External,
            repo_url: "</SCRIPT><img src=x onerror=alert(1)>".into(),
            tag: Some("</script >".into()),
            tag_regex: String::new(),
            policy: crate::model::TagPolicy::Digest,
            updates: Vec::new(),
        });
        let graph = crate::graph::build(&model).unwrap();
        let page = render(&graph, &model);
        // The page has as many script ends as the template: none came in.
        let ends = |s: &str| s.to_ascii_lowercase().matches("</script").count();
        assert_eq!(ends(&page), ends(TEMPLATE));
        let data = blob(&page);
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!data.contains(bad), "{bad:?} in the data blob");
        }
        // And the blob still parses back to exactly the strings given.
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            v["nodes"][0]["repoURL"].as_str(),
            Some(format!("docker.io/{hostile}").as_str())
        );
        assert_eq!(v["nodes"][0]["tag"].as_str(), Some(hostile));
        assert_eq!(
            v["nodes"][1]["repoURL"].as_str(),
            Some("</SCRIPT><img src=x onerror=alert(1)>")
        );
    }

    #[test]
    fn escaping_keeps_the_json_value() {
        let s = "a</script>b<!--c-->&\u{2028}\u{2029}d";
        let json = serde_json::to_string(s).unwrap();
        let escaped = escape_script_json(&json);
        assert_eq!(
            escaped,
            r#""a\u003c/script\u003eb\u003c!--c--\u003e\u0026\u2028\u2029d""#
        );
        assert_eq!(serde_json::from_str::<String>(&escaped).unwrap(), s);
    }

    #[test]
    fn layers_follow_the_longest_path_and_edges_carry_the_policy() {
        let (_, mut model) = sample();
        // child on app and node-22; grandchild on child: layers 1, 2, 3.
        let mut child = model.managed[0].clone();
        child.name = "child".into();
        child.bases = vec![BaseRef::Upstream(0), BaseRef::Managed(0)];
        child.rebuild_delay_secs = 0;
        child.auto_rebuild = false;
        let mut grandchild = child.clone();
        grandchild.name = "grandchild".into();
        grandchild.bases = vec![BaseRef::Managed(1)];
        model.managed.push(child);
        model.managed.push(grandchild);
        let graph = crate::graph::build(&model).unwrap();
        let d = data(&graph, &model);
        let layers: Vec<(&str, usize)> = d.nodes.iter().map(|n| (n.name, n.layer)).collect();
        assert_eq!(
            layers,
            [("node-22", 0), ("app", 1), ("child", 2), ("grandchild", 3)]
        );
        let edges: Vec<(usize, usize, &str, &str, bool)> = d
            .edges
            .iter()
            .map(|e| (e.from, e.to, e.kind, e.delay.as_str(), e.auto_rebuild))
            .collect();
        assert_eq!(
            edges,
            [
                (0, 1, "base", "1h", true),
                (0, 2, "base", "0", false),
                (1, 2, "cascade", "0", false),
                (2, 3, "cascade", "0", false),
            ]
        );
    }

    /// The first column stays short at hundreds of images: upstream images
    /// are grouped, the bases of one repository and the external images;
    /// the page closes the groups when there are many.
    #[test]
    fn upstream_images_are_grouped_by_repository() {
        let (_, mut model) = sample();
        let node = model.upstream[0].clone();
        let other = |name: &str, kind, repo: &str| Upstream {
            name: name.into(),
            kind,
            repo_url: repo.into(),
            tag: Some("1".into()),
            ..node.clone()
        };
        model.upstream.push(Upstream {
            name: "node-20".into(),
            tag: Some("20".into()),
            ..node.clone()
        });
        model
            .upstream
            .push(other("ext-a", UpstreamKind::External, "quay.io/v/a"));
        model.upstream.push(other(
            "alpine-3",
            UpstreamKind::Base,
            "docker.io/library/alpine",
        ));
        model
            .upstream
            .push(other("ext-b", UpstreamKind::External, "quay.io/v/b"));
        let graph = crate::graph::build(&model).unwrap();
        let d = data(&graph, &model);
        let groups: Vec<(&str, &str, &[usize])> = d
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.kind, g.members.as_slice()))
            .collect();
        assert_eq!(
            groups,
            [
                (node.repo_url.as_str(), "base", &[0, 1][..]),
                ("external images", "external", &[2, 4][..]),
            ]
        );
        let group_of: Vec<Option<usize>> = d.nodes.iter().map(|n| n.group).collect();
        assert_eq!(group_of, [Some(0), Some(0), Some(1), None, Some(1), None]);
        let page = render(&graph, &model);
        assert!(
            page.contains("var FOLD_OVER = 40;"),
            "the page closes groups past 40"
        );
    }

    /// A cycle is in the data, its images and edges marked, for the page to
    /// draw in red.
    #[test]
    fn a_cycle_is_marked_for_drawing() {
        let (_, mut model) = sample();
        let mut b = model.managed[0].clone();
        b.name = "b".into();
        b.bases = vec![BaseRef::Managed(0)];
        model.managed.push(b);
        model.managed[0].bases.push(BaseRef::Managed(1));
        assert!(crate::graph::build(&model).is_err(), "synth refuses it");
        let graph = crate::graph::build_for_drawing(&model);
        let d = data(&graph, &model);
        let ups = model.upstream.len();
        assert_eq!(d.cycles, [vec![ups, ups + 1]]);
        assert!(d.nodes[ups].cycle && d.nodes[ups + 1].cycle && !d.nodes[0].cycle);
        let marked: Vec<(usize, usize)> = (d.edges.iter())
            .filter(|e| e.cycle)
            .map(|e| (e.from, e.to))
            .collect();
        assert_eq!(marked, [(ups + 1, ups), (ups, ups + 1)]);
        let v: serde_json::Value = serde_json::from_str(blob(&render(&graph, &model))).unwrap();
        assert_eq!(v["cycles"], serde_json::json!([[ups, ups + 1]]));
    }

    #[test]
    fn the_page_is_deterministic() {
        let (graph, model) = sample();
        assert_eq!(render(&graph, &model), render(&graph, &model));
    }
}
