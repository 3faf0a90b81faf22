//! The page's one error channel: every failure is reported here under a key saying where
//! it came from, and cleared there when that work starts again. The error list, the
//! published status and the page's overall state all read this one map.

use std::collections::BTreeMap;

use leptos::prelude::*;

/// Where an error came from; the order is the order the page lists them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKey {
    /// The model list (`assets/models/index.json`).
    Catalog,
    /// A generation that could not start (the form, no model).
    Run,
    /// Loading the model of slot `i`.
    Load(usize),
    /// Slot `i`'s part of a generation.
    Generate(usize),
    /// A checkpoint opened from disk.
    Checkpoint,
    /// The Scaling sweep.
    Sweep,
}

impl Ord for ErrorKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for ErrorKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl ErrorKey {
    /// Slot errors sort by slot, loading before generating.
    fn order(self) -> (u8, usize, u8) {
        match self {
            ErrorKey::Catalog => (0, 0, 0),
            ErrorKey::Run => (1, 0, 0),
            ErrorKey::Load(i) => (2, i, 0),
            ErrorKey::Generate(i) => (2, i, 1),
            ErrorKey::Checkpoint => (3, 0, 0),
            ErrorKey::Sweep => (4, 0, 0),
        }
    }
}

/// Errors by origin, plus one informational notice.
#[derive(Clone, Copy)]
pub struct Messages {
    errors: RwSignal<BTreeMap<ErrorKey, String>>,
    /// A line that is not an error (e.g. the link names unknown models).
    pub notice: RwSignal<Option<String>>,
}

impl Messages {
    pub fn new() -> Self {
        Messages {
            errors: RwSignal::new(BTreeMap::new()),
            notice: RwSignal::new(None),
        }
    }

    /// Shows `message` for `key` (replacing an earlier one from there).
    pub fn report(self, key: ErrorKey, message: String) {
        self.errors.update(|m| drop(m.insert(key, message)));
    }

    /// Removes the error from `key`, if any (without notifying when there is none).
    pub fn clear(self, key: ErrorKey) {
        if self.errors.with_untracked(|m| m.contains_key(&key)) {
            self.errors.update(|m| drop(m.remove(&key)));
        }
    }

    /// Whether `key` has an error now (tracked).
    pub fn has(self, key: ErrorKey) -> bool {
        self.errors.with(|m| m.contains_key(&key))
    }

    /// Every error message, in page order (tracked).
    pub fn all(self) -> Vec<String> {
        self.errors.with(|m| m.values().cloned().collect())
    }
}

impl Default for Messages {
    fn default() -> Self {
        Self::new()
    }
}
