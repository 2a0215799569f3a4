//! Routing a mixed stream of samples to one tracker per node, and the batch entry points.

use crate::analysis::{Analysis, LiveState};
use crate::error::AnalyzeError;
use crate::options::AnalyzeOptions;
use crate::prior::CostProfile;
use crate::tracker::NodeTracker;
use nodewarden_model::Sample;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::io::Read;

/// Incremental analysis of any number of nodes, in order of first appearance.
#[derive(Debug, Clone)]
pub struct Analyzer {
    opts: AnalyzeOptions,
    nodes: Vec<NodeTracker>,
    index: HashMap<String, usize>,
    /// Consecutive samples are usually of the same node: skip the hash lookup then.
    last: Option<usize>,
    /// Earlier runs' cost shapes by node name, handed to each node's tracker.
    priors: HashMap<String, CostProfile>,
}

impl Analyzer {
    pub fn new(opts: AnalyzeOptions) -> Self {
        Self {
            opts,
            nodes: Vec::new(),
            index: HashMap::new(),
            last: None,
            priors: HashMap::new(),
        }
    }

    /// Gives the ETA of each named node the cost shape of an earlier run of its chain.
    pub fn with_priors(mut self, priors: HashMap<String, CostProfile>) -> Self {
        self.priors = priors;
        self
    }

    pub fn push(&mut self, s: &Sample) {
        let i = match self.last {
            Some(i) if self.nodes[i].node() == s.node => i,
            _ => match self.index.get(s.node.as_str()) {
                Some(&i) => i,
                None => {
                    self.nodes.push(
                        NodeTracker::new(s.node.clone(), self.opts.clone())
                            .with_prior(self.priors.remove(&s.node)),
                    );
                    self.index.insert(s.node.clone(), self.nodes.len() - 1);
                    self.nodes.len() - 1
                }
            },
        };
        self.last = Some(i);
        self.nodes[i].push(s);
    }

    pub fn node(&self, name: &str) -> Option<&NodeTracker> {
        self.index.get(name).map(|&i| &self.nodes[i])
    }

    pub fn nodes(&self) -> &[NodeTracker] {
        &self.nodes
    }

    pub fn snapshot(&self, node: &str) -> Option<LiveState> {
        self.node(node).map(NodeTracker::snapshot)
    }

    pub fn snapshots(&self) -> Vec<LiveState> {
        self.nodes.iter().map(NodeTracker::snapshot).collect()
    }

    /// Analyses so far, one per node.
    pub fn analyses(&self) -> Vec<Analysis> {
        self.nodes.iter().map(NodeTracker::analysis).collect()
    }

    pub fn finish(self) -> Vec<Analysis> {
        self.analyses()
    }
}

/// Analyses a sequence of samples (any mix of nodes), one [`Analysis`] per node.
pub fn analyze<S: Borrow<Sample>>(
    samples: impl IntoIterator<Item = S>,
    opts: &AnalyzeOptions,
) -> Vec<Analysis> {
    let mut a = Analyzer::new(opts.clone());
    for s in samples {
        a.push(s.borrow());
    }
    a.finish()
}

/// Streams a CSV export through the analysis without holding its rows; stops at the
/// first bad line.
///
/// Parsing is spread over the cores in chunks of whole records and the samples are
/// analysed in file order, so the result is that of a sequential read (see `parallel`).
pub fn analyze_csv<R: Read + Send>(
    reader: R,
    opts: &AnalyzeOptions,
) -> Result<Vec<Analysis>, AnalyzeError> {
    crate::parallel::analyze_csv(reader, opts)
}
