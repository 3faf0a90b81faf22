//! The page's views, one idea each, and the shared controls around them.

pub mod architecture;
pub mod attention;
pub mod common;
pub mod compare;
pub mod findings;
pub mod header;
pub mod paper_figures;
pub mod scaling;
pub mod state;
pub mod tour;
