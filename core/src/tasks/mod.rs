//! Synthetic tasks defined once, shared by training (mirrored in `train/`) and the page.

pub mod recall;
