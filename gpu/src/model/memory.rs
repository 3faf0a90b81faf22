//! Exact GPU memory of a session, from the sizes of the buffers actually allocated.

/// Bytes on the GPU, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// Model weights (shared by all sessions of a model).
    pub weights: u64,
    /// K and V caches of every attention mixer, preallocated for the max context.
    pub kv_cache: u64,
    /// SSM states [H, P, N] of every Mamba mixer.
    pub ssm_state: u64,
    /// Conv states [W-1, E+2GN] of every Mamba mixer.
    pub conv_state: u64,
    /// Activations for one chunk of tokens (residual, projections, logits, ...).
    pub activations: u64,
    /// Staging buffers for readback, token/position buffers and params uniforms.
    pub other: u64,
    /// Probe buffers, their scratch, staging and plans (0 until the first probed call).
    pub probes: u64,
}

impl MemoryReport {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.weights
            + self.kv_cache
            + self.ssm_state
            + self.conv_state
            + self.activations
            + self.other
            + self.probes
    }
    /// What the session itself holds (everything but the weights).
    pub fn session(&self) -> u64 {
        self.total() - self.weights
    }
}
