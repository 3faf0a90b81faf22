//! Where a long piece of work (a generation, a sweep) is, and how often it yields.

/// Work between two yields to the browser, in milliseconds.
pub const SLICE_MS: f64 = 16.0;

/// Where a generation (or a sweep) is.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    Idle,
    Running,
    Done,
    Stopped,
    Failed(String),
}

impl RunState {
    /// The word tests read (`data-state`, `window.__hybrid_status`).
    pub fn marker(&self) -> &'static str {
        match self {
            RunState::Idle => "idle",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Stopped => "stopped",
            RunState::Failed(_) => "error",
        }
    }
}
