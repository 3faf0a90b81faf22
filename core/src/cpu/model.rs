//! The whole model on the CPU: embedding -> blocks -> final norm -> LM head, one readable
//! top-to-bottom forward that serves both a prefill (many tokens) and a decode step (one).

use super::attention::{attention, KvCache};
use super::mamba::{mamba_mixer, MambaTrace, Scan, SsmState};
use super::ops::{add_scaled, l2, matmul, relu2_mlp, rms_norm, rms_norm_groups, swiglu};
use super::par;
pub use super::state::{LayerState, State, StateBytes};
use crate::config::{AttentionConfig, Fusion, LayerKind, ModelConfig};
use crate::error::{Error, Result};
use crate::intervene::{Interventions, LayerPlan};
use crate::probes::{LayerProbes, Probes};
use crate::weights::{Block, IntraWeights, Mixer, Weights};

/// Default SSD chunk length for prefill.
pub const DEFAULT_CHUNK: usize = 64;

/// A loaded model: its config and f32 weights.
#[derive(Debug, Clone)]
pub struct Model {
    config: ModelConfig,
    weights: Weights,
    /// Block i's attention settings, its own window applied (`ModelConfig::layer_window`).
    layer_attn: Vec<AttentionConfig>,
}

/// What a forward call computes besides the last token's logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Logits at every position ([T, V]) instead of only the last ([V]).
    pub all_logits: bool,
    /// Record probes (attention maps, implicit attention, dt, state norms, branch norms).
    pub probes: bool,
    /// How Mamba scans run over several tokens.
    pub scan: Scan,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            all_logits: false,
            probes: false,
            scan: Scan::Chunked(DEFAULT_CHUNK),
        }
    }
}

/// Output of [`Model::forward`].
#[derive(Debug, Clone)]
pub struct Forward {
    /// [T, V] with `all_logits`, else [V] for the last token.
    pub logits: Vec<f32>,
    pub probes: Option<Probes>,
}

impl Model {
    /// Build from a validated config and matching weights.
    pub fn new(config: ModelConfig, weights: Weights) -> Self {
        // `validate` guarantees the section exists whenever an attention mixer does.
        let base = config
            .attention
            .clone()
            .unwrap_or_else(|| AttentionConfig::plain(1, 1, 2));
        let layer_attn = (0..config.layers.len())
            .map(|i| AttentionConfig {
                window: config.layer_window(i),
                ..base.clone()
            })
            .collect();
        Model {
            config,
            weights,
            layer_attn,
        }
    }

    /// Load `config.json` and `model.safetensors` bytes.
    pub fn from_bytes(config_json: &[u8], safetensors: &[u8]) -> Result<Self> {
        let config = ModelConfig::from_json(config_json)?;
        let weights = Weights::load(&config, safetensors)?;
        Ok(Model::new(config, weights))
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// An empty state (position 0).
    pub fn new_state(&self) -> State {
        let layers = self
            .weights
            .blocks
            .iter()
            .map(|b| match &b.mixer {
                Mixer::Attention(_) => LayerState::Attention(KvCache::default()),
                Mixer::Mamba(m) => LayerState::Mamba(SsmState::new(m.dims)),
                Mixer::Intra(i) => LayerState::Intra(KvCache::default(), SsmState::new(i.ssm.dims)),
            })
            .collect();
        State { pos: 0, layers }
    }

    /// An empty state whose KV caches are allocated now for a run of `tokens` positions
    /// fed at most `chunk` at a time (prompt + new tokens; a windowed layer needs at most
    /// `sink_tokens + window - 1 + chunk` rows): such a run never reallocates its caches.
    /// A cache the allocator refuses is an [`Error::Memory`] naming the bytes.
    pub fn new_state_for(&self, tokens: usize, chunk: usize) -> Result<State> {
        let mut state = self.new_state();
        let layers = self.weights.blocks.iter().zip(&self.layer_attn);
        for ((b, a_cfg), st) in layers.zip(state.layers.iter_mut()) {
            let (dims, kv) = match (&b.mixer, st) {
                (Mixer::Attention(w), LayerState::Attention(kv)) => (&w.dims, kv),
                (Mixer::Intra(i), LayerState::Intra(kv, _)) => (&i.attn.dims, kv),
                _ => continue,
            };
            let rows = match a_cfg.window {
                None => tokens,
                Some(win) => a_cfg
                    .sink_tokens
                    .saturating_add(win.saturating_sub(1))
                    .saturating_add(chunk.max(1))
                    .min(tokens),
            };
            kv.reserve(rows, dims.k_dim(), dims.v_dim())?;
        }
        Ok(state)
    }

    /// Consume `tokens`, returning the last token's logits [V].
    pub fn prefill(&self, state: &mut State, tokens: &[u32]) -> Result<Vec<f32>> {
        Ok(self
            .forward(state, tokens, ForwardOptions::default())?
            .logits)
    }

    /// Consume one token, returning its logits [V].
    pub fn step(&self, state: &mut State, token: u32) -> Result<Vec<f32>> {
        self.prefill(state, &[token])
    }

    /// The forward pass over `tokens` [T] from `state`, which it advances.
    pub fn forward(
        &self,
        state: &mut State,
        tokens: &[u32],
        opts: ForwardOptions,
    ) -> Result<Forward> {
        self.forward_with(state, tokens, opts, &Interventions::none())
    }

    /// [`Self::forward`] with interventions (checked against the config first). A run must
    /// use the same set for all its calls: positions such as a reset's token are absolute.
    pub fn forward_with(
        &self,
        state: &mut State,
        tokens: &[u32],
        opts: ForwardOptions,
        interventions: &Interventions,
    ) -> Result<Forward> {
        let plans = interventions.plan(&self.config)?;
        let cfg = &self.config;
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        if tokens.is_empty() {
            return Err(Error::Prompt("the prompt is empty: nothing to run".into()));
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= v) {
            return Err(Error::TokenOutOfRange { id, vocab: v });
        }
        if state.layers.len() != self.weights.blocks.len() {
            return Err(Error::Prompt("this state belongs to another model".into()));
        }
        let t_len = tokens.len();
        // x: the residual stream, [T, D]
        let mut x = Vec::with_capacity(t_len * d);
        for &id in tokens {
            let i = id as usize;
            x.extend_from_slice(&self.weights.embed_tokens.data[i * d..(i + 1) * d]);
        }
        if let Some(s) = cfg.embed_scale {
            x.iter_mut().for_each(|v| *v *= s);
        }
        let mut probes = opts.probes.then(|| Probes {
            tokens: t_len,
            layers: Vec::new(),
        });
        let layers = self.weights.blocks.iter().zip(state.layers.iter_mut());
        for (((block, layer_state), a_cfg), plan) in layers.zip(&self.layer_attn).zip(&plans) {
            let mut lp = probes.as_ref().map(|_| LayerProbes::default());
            // a window imposed by an intervention replaces the layer's own
            let imposed = plan.window.map(|w| AttentionConfig {
                window: Some(w),
                ..a_cfg.clone()
            });
            self.block(
                block,
                (imposed.as_ref().unwrap_or(a_cfg), plan),
                layer_state,
                &mut x,
                state.pos,
                opts.scan,
                lp.as_mut(),
            );
            if let (Some(p), Some(l)) = (probes.as_mut(), lp) {
                p.layers.push(l);
            }
        }
        state.pos += t_len;

        // Final norm and LM head, on the last row only unless all logits are asked for.
        let rows = if opts.all_logits {
            &x[..]
        } else {
            &x[(t_len - 1) * d..]
        };
        let h = rms_norm(rows, &self.weights.norm_f.data, cfg.norm_eps);
        let mut logits = matmul(&h, &self.weights.head().data, d);
        if let Some(s) = cfg.logit_scale {
            logits.iter_mut().for_each(|v| *v *= s);
        }
        Ok(Forward { logits, probes })
    }

    /// One block, in place on the residual stream `x` [T, D]; `a_cfg` is its attention,
    /// `plan` its interventions.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        b: &Block,
        (a_cfg, plan): (&AttentionConfig, &LayerPlan),
        st: &mut LayerState,
        x: &mut [f32],
        pos0: usize,
        scan: Scan,
        probes: Option<&mut LayerProbes>,
    ) {
        let cfg = &self.config;
        let (d, eps) = (cfg.d_model, cfg.norm_eps);
        let h = rms_norm(x, &b.mixer_norm.data, eps);
        let mix = match (&b.mixer, st) {
            (Mixer::Attention(w), LayerState::Attention(kv)) => {
                let mut probs = probes.as_ref().map(|_| Vec::new());
                let heads = attention(w, a_cfg, &h, d, pos0, kv, &plan.hide, probs.as_mut());
                if let Some(p) = probes {
                    p.attn_heads = w.dims.n_heads;
                    p.attn_probs = probs;
                }
                let o = w.o_proj.as_ref().map(|o| &o.data[..]).unwrap_or(&[]);
                matmul(&heads, o, w.dims.o_dim())
            }
            (Mixer::Mamba(w), LayerState::Mamba(s)) => {
                let mut trace = probes.as_ref().map(|_| MambaTrace::default());
                let mut y = mamba_mixer(w, &h, d, pos0, s, scan, &plan.ssm, trace.as_mut());
                if let (Some(p), Some(t)) = (probes, trace) {
                    p.set_mamba(w.dims.n_heads, t);
                }
                // gated RMSNorm over `norm_groups` groups of channels, then out_proj
                let e = w.dims.d_inner();
                if let Some(nw) = &w.norm {
                    rms_norm_groups(&mut y, &nw.data, e / w.dims.norm_groups, eps);
                }
                let o = w.out_proj.as_ref().map(|o| &o.data[..]).unwrap_or(&[]);
                matmul(&y, o, e)
            }
            (Mixer::Intra(w), LayerState::Intra(kv, s)) => {
                self.intra(w, (a_cfg, plan), &h, (kv, s), pos0, scan, probes)
            }
            // `new_state` builds states from the same blocks, and `forward` checks the count.
            _ => vec![0.0; x.len()],
        };
        // x += residual_scale * mixer(..), then the same for the FFN
        // (a skipped part still runs, so its state and probes stay those of the model)
        let rs = cfg.residual_scale.unwrap_or(1.0);
        if !plan.skip_mixer {
            add_rows(x, rs, &mix, d);
        }
        if let (Some(ffn), false) = (&b.ffn, plan.skip_ffn) {
            let h = rms_norm(x, &ffn.norm.data, eps);
            let (up, down) = (&ffn.up_proj.data, &ffn.down_proj.data);
            // the loader gives a gate exactly to SwiGLU FFNs
            let f = match &ffn.gate_proj {
                Some(gate) => swiglu(&h, &gate.data, up, down, d),
                None => relu2_mlp(&h, up, down, d),
            };
            add_rows(x, rs, &f, d);
        }
    }

    /// Intra-layer hybrid mixer: attention and Mamba branches on the same input, each
    /// normalized per head, optionally scaled, fused by add / subtract / concat.
    #[allow(clippy::too_many_arguments)]
    fn intra(
        &self,
        w: &IntraWeights,
        (a_cfg, plan): (&AttentionConfig, &LayerPlan),
        h: &[f32],
        (kv, s): (&mut KvCache, &mut SsmState),
        pos0: usize,
        scan: Scan,
        probes: Option<&mut LayerProbes>,
    ) -> Vec<f32> {
        let cfg = &self.config;
        let (d, eps) = (cfg.d_model, cfg.norm_eps);
        let ic = cfg.intra.as_ref();
        let fusion = ic.map_or(Fusion::Add, |i| i.fusion);
        let mut probs = probes.as_ref().map(|_| Vec::new());
        let mut trace = probes.as_ref().map(|_| MambaTrace::default());
        // a: attention heads [T, Ha*dv]; y: gated Mamba output [T, E_b]
        let mut a = attention(&w.attn, a_cfg, h, d, pos0, kv, &plan.hide, probs.as_mut());
        let mut y = mamba_mixer(&w.ssm, h, d, pos0, s, scan, &plan.ssm, trace.as_mut());
        let (oa, eb) = (w.attn.dims.o_dim(), w.ssm.dims.d_inner());
        if let (Some(n), true) = (&w.attn_norm, plan.attn_norm) {
            rms_norm_groups(&mut a, &n.data, w.attn.dims.v_head_dim, eps);
        }
        if let (Some(n), true) = (&w.ssm_norm, plan.ssm_norm) {
            rms_norm_groups(&mut y, &n.data, w.ssm.dims.head_dim, eps);
        }
        // learned branch scalars, then an intervention's factor
        for k in [w.attn_scale, plan.attn_scale].into_iter().flatten() {
            a.iter_mut().for_each(|v| *v *= k);
        }
        for k in [w.ssm_scale, plan.ssm_scale].into_iter().flatten() {
            y.iter_mut().for_each(|v| *v *= k);
        }
        // Each branch's contribution in D-space, through its share of the projection.
        let (ca, cs) = match (&w.out_proj, &w.attn.o_proj, &w.ssm.out_proj, fusion) {
            (None, Some(o), Some(so), _) => (matmul(&a, &o.data, oa), matmul(&y, &so.data, eb)),
            (Some(j), _, _, Fusion::Concat) => {
                let (wa, ws) = split_cols(&j.data, d, oa);
                (matmul(&a, &wa, oa), matmul(&y, &ws, eb))
            }
            (Some(j), _, _, Fusion::Add | Fusion::Subtract) => {
                (matmul(&a, &j.data, oa), matmul(&y, &j.data, eb))
            }
            // the loader takes either both separate projections or the joint one
            (None, _, _, _) => (vec![0.0; h.len()], vec![0.0; h.len()]),
        };
        if let Some(p) = probes {
            p.attn_heads = w.attn.dims.n_heads;
            p.attn_probs = probs;
            if let Some(t) = trace {
                p.set_mamba(w.ssm.dims.n_heads, t);
            }
            let norms = ca
                .chunks_exact(d)
                .zip(cs.chunks_exact(d))
                .flat_map(|(ra, rs)| [l2(ra), l2(rs)])
                .collect();
            p.branch_norms = Some(norms);
        }
        let sign = fusion.ssm_sign();
        ca.iter().zip(&cs).map(|(x, y)| x + sign * y).collect()
    }

    /// Kinds of the blocks, in order.
    pub fn layer_kinds(&self) -> &[LayerKind] {
        &self.config.layers
    }
}

/// `x += s y` for x, y [T, D], in bands of rows on the engine's threads.
fn add_rows(x: &mut [f32], s: f32, y: &[f32], d: usize) {
    par::rows_mut(x, d, |r0, band| add_scaled(band, s, &y[r0 * d..]));
}

/// Split `w` [rows, c0 + c1] into its first `c0` columns and the rest.
fn split_cols(w: &[f32], rows: usize, c0: usize) -> (Vec<f32>, Vec<f32>) {
    let cols = w.len() / rows;
    let mut a = Vec::with_capacity(rows * c0);
    let mut b = Vec::with_capacity(rows * (cols - c0));
    for r in w.chunks_exact(cols) {
        a.extend_from_slice(&r[..c0]);
        b.extend_from_slice(&r[c0..]);
    }
    (a, b)
}
