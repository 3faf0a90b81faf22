//! The paper live: its findings beside the zoo's committed metrics, its figures computed
//! in the page, and a guided tour (arXiv 2510.04800; docs/FINDINGS.md).
//!
//! | module | holds |
//! |---|---|
//! | `ablations` | the atlas's ratio, placement and intra-axis tables (`atlas/summary.json`) |
//! | `metrics` | the one typed loader of metrics files, [`metrics::Zoo`], mean ± sd |
//! | `findings` | the findings: paper number, zoo number, verdict, page state |
//! | `figures` | plain numbers of the figures (memory, per-position loss, recall cells) |
//! | `tour` | the tour's steps |
//! | `target` | a page state ("Show me", tour steps) |
//! | `url` | `view=findings` and `tour=N` in the hash, apart from `urlstate` |
//! | `fetch` | fetching metrics, atlas seeds and the held-out passage |
//! | `run` | every engine call of the figures (one file, to re-route) |
//! | `state`, `compute`, `apply`, `publish` | the page state, runs, "Show me", test markers |

pub mod ablations;
pub mod apply;
pub mod compute;
pub mod fetch;
pub mod figures;
pub mod findings;
pub mod metrics;
pub mod publish;
pub mod run;
pub mod stat;
pub mod state;
pub mod tables;
pub mod target;
pub mod tour;
pub mod url;

pub use state::PaperState;
