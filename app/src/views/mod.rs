//! The page's views, one idea each, and the shared controls around them.

pub mod architecture;
pub mod attention;
pub mod common;
pub mod compare;
pub mod header;
pub mod scaling;
pub mod state;
