//! The page's views, one idea each, and the shared controls around them.

pub mod arch_controls;
pub mod architecture;
pub mod attention;
pub mod common;
pub mod compare;
pub mod header;
pub mod prompt_check;
pub mod scaling;
pub mod share;
pub mod state;
