//! Step 3 of synth: the base-image dependency graph. Pure.
//!
//! Nodes are images; an edge `base → dependent` says the dependent is built
//! on the base. Upstream images only ever appear as bases, so a cycle can
//! only run through managed images — and is an error that names it, except
//! for drawing ([`build_for_drawing`]: `imgf graph` shows the cycle). The
//! graph also gives the order in which managed images rebuild (bases first).
//! Drawing it is a target's job ([`crate::targets::diagram`]).

use crate::diagnostic::Diagnostic;
use crate::model::{BaseRef, Model};

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
    /// Managed images, every image after all of its managed bases (in a
    /// graph with cycles, after those not in a cycle with it).
    pub order: Vec<usize>,
    /// The cycles found (only [`build_for_drawing`] returns a graph with
    /// any): managed images, each a base of the next and the last a base of
    /// the first.
    pub cycles: Vec<Vec<usize>>,
}

impl Graph {
    /// Whether the edge `base → dependent` is part of one of [`Graph::cycles`].
    pub fn in_cycle(&self, base: Node, dependent: usize) -> bool {
        let Node::Managed(b) = base else { return false };
        self.cycles
            .iter()
            .any(|c| (0..c.len()).any(|k| c[k] == b && c[(k + 1) % c.len()] == dependent))
    }
}

/// Builds the graph; fails on a cycle, naming it.
pub fn build(model: &Model) -> Result<Graph, Diagnostic> {
    let graph = build_for_drawing(model);
    match graph.cycles.first() {
        Some(cycle) => Err(cycle_error(model, cycle)),
        None => Ok(graph),
    }
}

/// Builds the graph, cycles and all, for drawing: the cycles are in
/// [`Graph::cycles`], and every other image is ordered as [`build`] orders it.
pub fn build_for_drawing(model: &Model) -> Graph {
    let edges = model
        .managed
        .iter()
        .enumerate()
        .flat_map(|(i, m)| m.bases.iter().map(move |b| (Node::from(*b), i)))
        .collect();
    let (order, cycles) = topo_order(model);
    Graph {
        edges,
        order,
        cycles,
    }
}

/// A cycle as `a → b → a`, each image a base of the next.
pub fn cycle_text(model: &Model, cycle: &[usize]) -> String {
    let mut names: Vec<&str> = cycle
        .iter()
        .map(|i| model.managed[*i].name.as_str())
        .collect();
    names.push(names[0]);
    names.join(" → ")
}

/// How to break a cycle.
pub const CYCLE_HELP: &str = "an image cannot be its own (indirect) base; fix the FROM lines of one of these images, then run `imgf analyze`";

/// The error for a cycle.
fn cycle_error(model: &Model, cycle: &[usize]) -> Diagnostic {
    Diagnostic::error(format!(
        "the images are built on each other in a cycle: {}",
        cycle_text(model, cycle)
    ))
    .help(CYCLE_HELP)
}

/// Depth-first topological order of managed images; a back edge is a
/// cycle, recorded and otherwise passed over.
fn topo_order(model: &Model) -> (Vec<usize>, Vec<Vec<usize>>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = model.managed.len();
    let mut mark = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    let mut cycles = Vec::new();
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
                            // The stack runs from b to node, each entry a
                            // dependent of the next; reversed, each is a base
                            // of the next, and b is a base of node.
                            let pos = stack.iter().position(|(x, _)| *x == b).unwrap_or(0);
                            let mut cycle: Vec<usize> =
                                stack[pos..].iter().map(|(x, _)| *x).collect();
                            cycle.reverse();
                            cycle.rotate_right(1);
                            cycles.push(cycle);
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
    (order, cycles)
}
