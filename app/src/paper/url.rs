//! The paper's keys in the URL hash, kept apart from `urlstate` (which owns the rest):
//! `view=findings` (a view `urlstate::VIEWS` does not list) and `tour=N` (1-based step).
//! To join `urlstate::HashState` later: add ("findings", "Findings") to `VIEWS` and a
//! `tour: Option<usize>` field decoded and encoded like `view`; then this file goes.

use super::tour::STEPS;
use crate::urlstate::{percent_decode, HashState};

/// Views this module adds: (id, tab label).
pub const PAPER_VIEWS: [(&str, &str); 1] = [("findings", "Findings")];

/// The paper's keys of a hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaperHash {
    pub view: Option<String>,
    /// 0-based step.
    pub tour: Option<usize>,
}

/// Reads `view=findings` and `tour=N` (N from 1 to `steps`); everything else is ignored.
pub fn decode(hash: &str, steps: usize) -> PaperHash {
    let mut out = PaperHash::default();
    for pair in hash.trim_start_matches('#').split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "view" if PAPER_VIEWS.iter().any(|(id, _)| *id == v) => out.view = Some(v),
            "tour" => {
                out.tour = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=steps).contains(n))
                    .map(|n| n - 1)
            }
            _ => {}
        }
    }
    out
}

/// `state` (decoded by `urlstate`) completed with the paper's keys of `raw`: the Findings
/// view, and for `tour=N` the step's view, models and prompt (so the page starts in the
/// step's state). Returns the tour step too.
pub fn with_paper_keys(mut state: HashState, raw: &str) -> (HashState, Option<usize>) {
    let p = decode(raw, STEPS.len());
    // `tour` is this module's key: the link's other fields must not carry it on (it would
    // stay in the URL after the tour closes).
    state.fields.remove("tour");
    if let Some(v) = p.view {
        state.view = Some(v);
    }
    let step = p.tour.and_then(|i| STEPS.get(i).map(|s| (i, s)));
    if let Some((_, s)) = step {
        state.view = Some(s.target.view.to_string());
        state.models = s.target.models.iter().map(|m| m.to_string()).collect();
        state.prompt = Some(s.target.prompt.to_string());
    }
    (state, step.map(|(i, _)| i))
}

/// `hash` (from `HashState::encode`) with `&tour=N` appended for an open tour step.
pub fn with_tour(hash: &str, tour: Option<usize>) -> String {
    match tour {
        Some(step) if hash.len() > 1 => format!("{hash}&tour={}", step + 1),
        Some(step) => format!("#tour={}", step + 1),
        None => hash.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tour_and_view_round_trip() {
        let h = decode("#view=findings&models=a&tour=3", 8);
        assert_eq!(
            h,
            PaperHash {
                view: Some("findings".into()),
                tour: Some(2)
            }
        );
        assert_eq!(decode("#tour=0&view=compare", 8), PaperHash::default());
        assert_eq!(decode("tour=9", 8).tour, None);
        assert_eq!(decode("tour=x&&=", 8).tour, None);
        assert_eq!(
            with_tour("#view=findings", Some(2)),
            "#view=findings&tour=3"
        );
        assert_eq!(with_tour("#", Some(0)), "#tour=1");
        assert_eq!(with_tour("#view=a", None), "#view=a");
        // the tour key is not left among the link's generic fields
        let (state, step) = with_paper_keys(HashState::decode("#tour=3&seed=7"), "#tour=3&seed=7");
        assert_eq!(step, Some(2));
        assert!(!state.fields.contains_key("tour"), "{:?}", state.fields);
    }
}
