//! The guided tour: steps through the paper's insights, each a page state, what to
//! notice, and a question for students. Plain data; `views::tour` draws it.

use super::target::{Target, RECALL_PROMPT, TEXT_FOUR, TEXT_PROMPT};

/// One step.
pub struct Step {
    pub title: &'static str,
    pub target: Target,
    /// What to notice.
    pub notice: &'static str,
    pub question: &'static str,
}

const RECALL_THREE: &[&str] = &["recall-transformer", "recall-mamba2", "recall-intra"];

/// The steps, in order.
pub const STEPS: [Step; 8] = [
    Step {
        title: "Hybrids win on quality",
        target: Target::figure("quality", &TEXT_FOUR),
        notice: "Every hybrid has a lower validation loss than both the Transformer and Mamba-2 (from metrics.json); the tokens/s are measured now, in this browser.",
        question: "Why could mixing two weaker layer types give a better model than either alone?",
    },
    Step {
        title: "Memory: attention's cache grows, Mamba's state does not",
        target: Target::figure("memory", &TEXT_FOUR),
        notice: "The Transformer's cache doubles with every doubling of context; Mamba-2's stays flat; the hybrids sit between, set by how many attention layers they keep.",
        question: "How much cache would the Transformer need at 1M tokens? And Mamba-2?",
    },
    Step {
        title: "Speed against context, measured",
        target: Target {
            view: "scaling",
            models: &TEXT_FOUR,
            prompt: TEXT_PROMPT,
            figure: None,
        },
        notice: "Run the sweep (on the GPU engine where this browser has one, up to 16K tokens; else on the CPU engine, up to 4K; the table names the engine): the Transformer's ms/token rises with context (it reads its whole cache each step), Mamba-2's stays flat.",
        question: "At what context length does the hybrid's advantage over the Transformer become large?",
    },
    Step {
        title: "Past the training length",
        target: Target::figure("position", &["shakespeare-transformer", "shakespeare-mamba2", "shakespeare-intra"]),
        notice: "Trained on 256 tokens: compare each curve before and after position 256. Past the training length the Transformer does worse relative to Mamba-2 and the hybrid (on this one window, the opening of The Tempest, every loss falls after the cast list, the Transformer's least; averaged over 80 test windows in metrics.json the Transformer's loss rises by 0.33 nats, the others' by at most 0.06).",
        question: "What does attention with RoPE see at position 600 that it never saw in training?",
    },
    Step {
        title: "Attention carries retrieval",
        target: Target {
            view: "compare",
            models: RECALL_THREE,
            prompt: RECALL_PROMPT,
            figure: None,
        },
        notice: "Generate: the models with attention answer v200 (the value stored with k33); Mamba-2 guesses.",
        question: "Where in a fixed-size state could Mamba-2 have kept 16 key-value pairs?",
    },
    Step {
        title: "Recall over pairs and length",
        target: Target::figure("recall", RECALL_THREE),
        notice: "Computed here with the project's recall generator on the test split's first cases, beside the committed grid: near 100% at 256 tokens for models with attention, falling at 512.",
        question: "Why does recall collapse at twice the training length even for the hybrids?",
    },
    Step {
        title: "Where the layers look",
        target: Target {
            view: "attention",
            models: &["shakespeare-inter"],
            prompt: TEXT_PROMPT,
            figure: None,
        },
        notice: "Attention maps of the attention layer next to Mamba's implicit attention: Mamba's weight stays near the diagonal, it forgets with distance.",
        question: "Which tokens does the attention layer look back at, and why those?",
    },
    Step {
        title: "Ablations, with error bars",
        target: Target::figure("ablation", RECALL_THREE),
        notice: "Mean ± sd over seeds, from the committed atlas: attention placed first fails recall like Mamba-2 (about 8% at 16 pairs) while the middle reaches about 97%; the ratios, the intra axes and the fusions (one model written two ways included) mostly differ by less than the seed-to-seed spread.",
        question: "How many seeds would you need before claiming one fusion is better?",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urlstate::VIEWS;

    #[test]
    fn every_step_is_a_valid_state() {
        assert!(STEPS.len() >= 6);
        for s in &STEPS {
            let v = s.target.view;
            assert!(
                v == "findings" || VIEWS.iter().any(|(id, _)| *id == v),
                "{v}"
            );
            assert!((1..=4).contains(&s.target.models.len()), "{}", s.title);
            assert!(s.question.ends_with('?'), "{}", s.title);
        }
    }
}
