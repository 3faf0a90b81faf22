//! Helpers shared by the integration tests: see `hybrid_core::testing`.
#![allow(unused_imports)]

pub use hybrid_core::testing::{family_configs, fixture_names, fixtures_dir, rel_err};
