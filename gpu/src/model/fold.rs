//! Granite's scalars folded into the weights before upload, so that the shaders run them
//! unchanged (each multiplies the output of a linear map, or its input, so it can live in
//! the map's matrix):
//!
//! | config | folded into |
//! |---|---|
//! | `embed_scale` s | `embed_tokens` *= s |
//! | `attention.scale` a | `q_proj` *= a sqrt(dh) (the shaders scale scores by 1/sqrt(dh); RoPE is linear) |
//! | `residual_scale` r | `o_proj`, Mamba `out_proj`, an intra joint `out_proj`, `down_proj` *= r |
//! | `logit_scale` l | the head *= l (a tied head gets its own matrix when l differs from s) |

use hybrid_core::weights::{AttnWeights, Mixer, Tensor};
use hybrid_core::{Model, ModelConfig};

/// The model with its scalars folded into its weights and cleared from its config, or
/// None when it has none.
pub(crate) fn folded(model: &Model) -> Option<Model> {
    let cfg = model.config();
    let attn = cfg
        .attention
        .as_ref()
        .and_then(|a| a.scale.map(|s| s * (a.head_dim as f32).sqrt()));
    let one = |s: Option<f32>| s.unwrap_or(1.0);
    let (es, rs, ls) = (
        one(cfg.embed_scale),
        one(cfg.residual_scale),
        one(cfg.logit_scale),
    );
    if (es, rs, ls) == (1.0, 1.0, 1.0) && attn.is_none() {
        return None;
    }
    let mut w = model.weights().clone();
    // the head from the unscaled embedding: its own, or the tied one when the scales differ
    w.lm_head = match w.lm_head.take() {
        Some(h) => Some(scaled(h, ls)),
        None if ls != es => Some(scaled(w.embed_tokens.clone(), ls)),
        None => None,
    };
    w.embed_tokens = scaled(w.embed_tokens, es);
    let q = |a: &mut AttnWeights| {
        if let Some(k) = attn {
            scale_in_place(&mut a.q_proj, k);
        }
        if let Some(o) = &mut a.o_proj {
            scale_in_place(o, rs);
        }
    };
    for b in &mut w.blocks {
        match &mut b.mixer {
            Mixer::Attention(a) => q(a),
            Mixer::Mamba(m) => m.out_proj.iter_mut().for_each(|o| scale_in_place(o, rs)),
            Mixer::Intra(i) => {
                q(&mut i.attn);
                i.ssm
                    .out_proj
                    .iter_mut()
                    .for_each(|o| scale_in_place(o, rs));
                i.out_proj.iter_mut().for_each(|o| scale_in_place(o, rs));
            }
        }
        if let Some(f) = &mut b.ffn {
            scale_in_place(&mut f.down_proj, rs);
        }
    }
    let mut c: ModelConfig = cfg.clone();
    c.tie_embeddings = w.lm_head.is_none();
    (c.embed_scale, c.residual_scale, c.logit_scale) = (None, None, None);
    if let Some(a) = &mut c.attention {
        a.scale = None;
    }
    Some(Model::new(c, w))
}

fn scaled(mut t: Tensor, s: f32) -> Tensor {
    scale_in_place(&mut t, s);
    t
}

fn scale_in_place(t: &mut Tensor, s: f32) {
    if s != 1.0 {
        t.data.iter_mut().for_each(|v| *v *= s);
    }
}
