//! The paper's part of the page state: the committed metrics (a [`LocalResource`]), the
//! open tour step, the figure in focus, and what the figures computed in the page.

use leptos::prelude::*;

use super::fetch::{self, Heldout};
use super::figures::{PositionCurve, QualityPoint, RecallCell};
use super::metrics::Zoo;

/// Recall cells the page computes: lengths and pairs.
pub const RECALL_LENGTHS: [usize; 2] = [256, 512];
pub const RECALL_PAIRS: [usize; 4] = [4, 8, 16, 32];

/// The paper's state.
#[derive(Clone, Copy)]
pub struct PaperState {
    /// The committed metrics and the files that could not be read.
    pub zoo: LocalResource<Result<(Zoo, Vec<String>), String>>,
    pub heldout: LocalResource<Result<Heldout, String>>,
    /// The tour step shown (0-based), `None` when the tour is closed.
    pub tour: RwSignal<Option<usize>>,
    /// The Findings figure in focus (`fig-<id>`).
    pub figure: RwSignal<Option<String>>,
    /// A figure to compute once the slots hold the target's models.
    pub pending: RwSignal<Option<String>>,
    pub quality: RwSignal<Vec<QualityPoint>>,
    pub position: RwSignal<Vec<PositionCurve>>,
    pub recall: RwSignal<Vec<RecallCell>>,
    /// Cases per recall cell (the committed grid has 512).
    pub recall_cases: RwSignal<usize>,
    /// "what is running" while a figure computes.
    pub busy: RwSignal<Option<String>>,
    pub progress: RwSignal<f64>,
    pub cancel: StoredValue<bool>,
    /// The last figure's failure.
    pub error: RwSignal<Option<String>>,
}

impl PaperState {
    /// Starts fetching the metrics and the passage; `tour` from the URL.
    pub fn new(tour: Option<usize>) -> Self {
        PaperState {
            zoo: LocalResource::new(fetch::load_zoo),
            heldout: LocalResource::new(fetch::load_heldout),
            tour: RwSignal::new(tour),
            figure: RwSignal::new(None),
            pending: RwSignal::new(None),
            quality: RwSignal::new(Vec::new()),
            position: RwSignal::new(Vec::new()),
            recall: RwSignal::new(Vec::new()),
            recall_cases: RwSignal::new(8),
            busy: RwSignal::new(None),
            progress: RwSignal::new(0.0),
            cancel: StoredValue::new(false),
            error: RwSignal::new(None),
        }
    }

    /// The metrics, once read (tracked).
    pub fn zoo(self) -> Option<Zoo> {
        match self.zoo.get() {
            Some(Ok((z, _))) => Some(z),
            _ => None,
        }
    }
}

impl PaperState {
    /// Opens tour step `step` (from the URL) with its figure, once the page starts.
    pub fn open(self, step: Option<usize>) {
        let Some(s) = step.and_then(|i| super::tour::STEPS.get(i)) else {
            return;
        };
        self.tour.set(step);
        self.figure.set(s.target.figure.map(str::to_string));
        let computed = s
            .target
            .figure
            .filter(|f| super::target::COMPUTED.contains(f));
        self.pending.set(computed.map(str::to_string));
    }
}
