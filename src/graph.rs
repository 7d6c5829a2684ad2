//! Step 3 of synth: the base-image dependency graph. Pure.
//!
//! Nodes are images; an edge `base → dependent` says the dependent is built
//! on the base. Upstream images only ever appear as bases, so a cycle can
//! only run through managed images — and is an error that names it. The
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
