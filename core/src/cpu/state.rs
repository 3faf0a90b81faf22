//! What a session carries between forward calls: the position and, per block, its KV
//! cache and/or Mamba conv and SSM states.

use super::attention::KvCache;
use super::mamba::SsmState;

/// The decode-time state of one block.
#[derive(Debug, Clone)]
pub enum LayerState {
    Attention(KvCache),
    Mamba(SsmState),
    Intra(KvCache, SsmState),
}

/// Everything a session carries between calls: position, KV caches, conv and SSM states.
#[derive(Debug, Clone)]
pub struct State {
    /// Tokens consumed so far (the next token's position).
    pub pos: usize,
    pub layers: Vec<LayerState>,
}

/// Bytes a [`State`] holds, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateBytes {
    pub kv_cache: usize,
    pub ssm_state: usize,
    pub conv_state: usize,
}

impl StateBytes {
    /// All of it.
    pub fn total(&self) -> usize {
        self.kv_cache + self.ssm_state + self.conv_state
    }
}

impl State {
    /// Memory held now, exactly (f32).
    pub fn bytes(&self) -> StateBytes {
        let mut b = StateBytes::default();
        for l in &self.layers {
            let (kv, ssm) = match l {
                LayerState::Attention(kv) => (Some(kv), None),
                LayerState::Mamba(s) => (None, Some(s)),
                LayerState::Intra(kv, s) => (Some(kv), Some(s)),
            };
            if let Some(kv) = kv {
                b.kv_cache += kv.bytes();
            }
            if let Some(s) = ssm {
                b.ssm_state += s.ssm.len() * 4;
                b.conv_state += s.conv.len() * 4;
            }
        }
        b
    }
}
