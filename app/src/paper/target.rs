//! A page state that demonstrates something: the view, the models compared, the prompt and
//! the figure to bring into view. "Show me" on a finding and every tour step set one.

/// Figures that need the engine (the others read metrics and configs only).
pub const COMPUTED: [&str; 3] = ["quality", "position", "recall"];

/// The recall prompt every recall model reads (`core::tasks::recall` vocabulary; the
/// golden tests in `core/tests/zoo.rs` pin the answer `v200`).
pub const RECALL_PROMPT: &str = "<bos> k20 v130 k33 v200 k17 v141 f3 f4 <sep> k33";
/// A prompt for the Shakespeare models.
pub const TEXT_PROMPT: &str = "ROMEO.\n";

/// The four Shakespeare families the quality and speed figures compare.
pub const TEXT_FOUR: [&str; 4] = [
    "shakespeare-transformer",
    "shakespeare-mamba2",
    "shakespeare-inter",
    "shakespeare-intra-concat",
];

/// A page state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// A view id (`urlstate::VIEWS` or `paper::url::PAPER_VIEWS`).
    pub view: &'static str,
    /// Model ids for the slots, in order (1..=4).
    pub models: &'static [&'static str],
    pub prompt: &'static str,
    /// A figure of the Findings view to scroll to (`fig-<id>`).
    pub figure: Option<&'static str>,
}

impl Target {
    /// On the Findings view, at figure `figure`, with `models`.
    pub const fn figure(figure: &'static str, models: &'static [&'static str]) -> Self {
        let prompt = if is_recall(models) {
            RECALL_PROMPT
        } else {
            TEXT_PROMPT
        };
        Target {
            view: "findings",
            models,
            prompt,
            figure: Some(figure),
        }
    }
}

/// Whether the first model is a recall model (they share one prompt).
const fn is_recall(models: &[&str]) -> bool {
    match models.first() {
        Some(m) => {
            let b = m.as_bytes();
            b.len() > 6 && b[0] == b'r' && b[1] == b'e' && b[2] == b'c'
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_follows_the_models() {
        assert_eq!(Target::figure("x", &["recall-intra"]).prompt, RECALL_PROMPT);
        assert_eq!(Target::figure("x", &TEXT_FOUR).prompt, TEXT_PROMPT);
        assert_eq!(Target::figure("x", &[]).prompt, TEXT_PROMPT);
    }
}
