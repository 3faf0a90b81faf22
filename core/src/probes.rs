//! Probes: what the engine records for the views (docs/FORMAT.md, "Probes").
//! All matrices are row-major f32; T = tokens of the probed call.
//!
//! A data module: the engines (`cpu`, and `hybrid-gpu`) import it, it imports no engine.

/// Per-token quantities the probes read (filled only when asked).
#[derive(Debug, Clone, Default)]
pub struct MambaTrace {
    /// dt after softplus, [T, H].
    pub dt: Vec<f32>,
    /// Frobenius norm of S_h after each token, [T, H].
    pub state_norm: Vec<f32>,
    /// Implicit attention `L o (C B^T)` scaled by dt, [H, T, T].
    pub implicit_attn: Vec<f32>,
}

/// Probes of one block; fields are `None` where they don't apply.
#[derive(Debug, Clone, Default)]
pub struct LayerProbes {
    /// Query heads of the attention mixer (0 if none).
    pub attn_heads: usize,
    /// Heads of the Mamba mixer (0 if none).
    pub ssm_heads: usize,
    /// Softmax weights, [Hq, T, T] (key axis = absolute position).
    pub attn_probs: Option<Vec<f32>>,
    /// Mamba-2 implicit attention, [H, T, T].
    pub implicit_attn: Option<Vec<f32>>,
    /// dt after softplus, [T, H].
    pub dt: Option<Vec<f32>>,
    /// ||S_h|| after each token, [T, H].
    pub state_norm: Option<Vec<f32>>,
    /// L2 norm of the attention and Mamba contributions, [T, 2] (intra blocks).
    pub branch_norms: Option<Vec<f32>>,
}

impl LayerProbes {
    pub(crate) fn set_mamba(&mut self, heads: usize, t: MambaTrace) {
        self.ssm_heads = heads;
        self.dt = Some(t.dt);
        self.state_norm = Some(t.state_norm);
        self.implicit_attn = Some(t.implicit_attn);
    }
}

/// Probes of a whole forward call.
#[derive(Debug, Clone, Default)]
pub struct Probes {
    /// T.
    pub tokens: usize,
    /// One entry per block.
    pub layers: Vec<LayerProbes>,
}
