//! The discrete choices of a config: a block's mixer, and an intra block's fusion and
//! output projection.

use serde::{Deserialize, Serialize};

/// Which mixer a block runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// Causal self-attention (GQA + RoPE).
    Attention,
    /// Mamba-2 (SSD) state-space mixer.
    Mamba,
    /// Intra-layer hybrid: attention and Mamba-2 branches in parallel, fused.
    Intra,
}

/// How the two branches of an intra block are combined. Code that depends on the choice
/// `match`es it exhaustively (no `==`, no `_ =>`), so a new variant fails to compile
/// wherever it is not handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    Add,
    Subtract,
    Concat,
}

impl Fusion {
    /// Every variant, in the order a menu shows them.
    pub const ALL: [Fusion; 3] = [Fusion::Subtract, Fusion::Add, Fusion::Concat];

    /// The name `config.json` uses.
    pub fn name(self) -> &'static str {
        match self {
            Fusion::Add => "add",
            Fusion::Subtract => "subtract",
            Fusion::Concat => "concat",
        }
    }

    /// The variant named `name` in `config.json`, if any.
    pub fn from_name(name: &str) -> Option<Fusion> {
        Fusion::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The sign of the Mamba branch's contribution: -1 for subtract, else +1.
    pub fn ssm_sign(self) -> f32 {
        match self {
            Fusion::Subtract => -1.0,
            Fusion::Add | Fusion::Concat => 1.0,
        }
    }
}

/// Whether an intra block projects each branch separately or both jointly (matched
/// exhaustively, like [`Fusion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutProj {
    Separate,
    Joint,
}

impl OutProj {
    /// Every variant.
    pub const ALL: [OutProj; 2] = [OutProj::Separate, OutProj::Joint];

    /// The name `config.json` uses.
    pub fn name(self) -> &'static str {
        match self {
            OutProj::Separate => "separate",
            OutProj::Joint => "joint",
        }
    }
}

/// The FFN of a block (matched exhaustively, like [`Fusion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FfnAct {
    /// `down(silu(gate x) * up x)` (Llama, the paper).
    #[default]
    Swiglu,
    /// `down(relu(up x)^2)`: no gate (Nemotron-H).
    Relu2,
}

impl FfnAct {
    /// The name `config.json` uses.
    pub fn name(self) -> &'static str {
        match self {
            FfnAct::Swiglu => "swiglu",
            FfnAct::Relu2 => "relu2",
        }
    }
}
