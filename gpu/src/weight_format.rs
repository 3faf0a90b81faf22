//! [`WeightFormat`]: how the weight matrices (embedding, projections, head) are stored on
//! the GPU. Norms, conv and per-head parameters stay f32. The matmul, matvec and embed
//! shaders read every format as f32 (their `wt` helper, override `W_FORMAT`) and
//! accumulate in f32; no `shader-f16` feature is needed. Where the device has it, prefill
//! products of f16 weights run on tensor cores or in f16 arithmetic instead
//! ([`crate::ops::matmul::Matmul::path`]).

use hybrid_core::weights::{Mixer, Tensor, Weights};

/// Storage of the weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// 4 bytes per weight: exactly the CPU engine's values.
    #[default]
    F32,
    /// 2 bytes per weight, packed in pairs (element i is half i % 2 of word i / 2; WGSL
    /// `unpack2x16float`): exact for checkpoints stored in f16.
    F16,
    /// 2 bytes per weight, packed in pairs (the high 16 bits of an f32: a shift in WGSL):
    /// exact for checkpoints stored in bf16.
    BF16,
}

impl WeightFormat {
    /// Every format, narrowest last.
    pub const ALL: [WeightFormat; 3] = [WeightFormat::F32, WeightFormat::F16, WeightFormat::BF16];

    /// Its name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::F16 => "f16",
            WeightFormat::BF16 => "bf16",
        }
    }

    /// The format named `name` (`f32`, `f16`, `bf16`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The value of the shaders' `W_FORMAT` override.
    pub(crate) fn shader_code(self) -> f64 {
        match self {
            WeightFormat::F32 => 0.0,
            WeightFormat::F16 => 1.0,
            WeightFormat::BF16 => 2.0,
        }
    }

    /// Bytes of `elems` weights in this format (16-bit pairs padded to a whole word).
    pub fn bytes(self, elems: usize) -> u64 {
        match self {
            WeightFormat::F32 => elems as u64 * 4,
            _ => elems.div_ceil(2) as u64 * 4,
        }
    }

    /// 32-bit words holding `elems` weights in this format.
    pub(crate) fn words(self, elems: usize) -> usize {
        (self.bytes(elems) / 4) as usize
    }

    /// `v` rounded to this format (to nearest, ties to even), back as f32.
    pub fn round(self, v: f32) -> f32 {
        match self {
            WeightFormat::F32 => v,
            WeightFormat::F16 => half::f16::from_f32(v).to_f32(),
            WeightFormat::BF16 => half::bf16::from_f32(v).to_f32(),
        }
    }

    /// The 16 bits of `v` in a 16-bit format (0 for f32, which has no 16-bit form).
    fn bits16(self, v: f32) -> u32 {
        match self {
            WeightFormat::F32 => 0,
            WeightFormat::F16 => half::f16::from_f32(v).to_bits() as u32,
            WeightFormat::BF16 => half::bf16::from_f32(v).to_bits() as u32,
        }
    }

    /// `data` as the words the shaders read: f32 bits, or 16-bit pairs (low half first),
    /// each value rounded to nearest.
    pub(crate) fn pack(self, data: &[f32]) -> Vec<u32> {
        match self {
            WeightFormat::F32 => data.iter().map(|v| v.to_bits()).collect(),
            _ => data
                .chunks(2)
                .map(|pair| {
                    let lo = self.bits16(pair[0]);
                    let hi = pair.get(1).map_or(0, |&v| self.bits16(v));
                    lo | hi << 16
                })
                .collect(),
        }
    }

    /// The narrowest format that holds every weight matrix of `w` exactly: bf16 for a
    /// checkpoint stored in bf16, f16 for one stored in f16, else f32. (The CPU engine
    /// reads 16-bit checkpoints into f32; their values tell the stored dtype.)
    pub fn exact_for(w: &Weights) -> WeightFormat {
        let mats = matrices(w);
        [WeightFormat::BF16, WeightFormat::F16]
            .into_iter()
            .find(|&f| {
                mats.iter()
                    .all(|t| t.data.iter().all(|&v| f.round(v).to_bits() == v.to_bits()))
            })
            .unwrap_or(WeightFormat::F32)
    }
}

/// The matrices [`WeightFormat`] stores: embedding, head, every projection.
pub(crate) fn matrices(w: &Weights) -> Vec<&Tensor> {
    let mut m = vec![&w.embed_tokens];
    m.extend(&w.lm_head);
    for b in &w.blocks {
        let (attn, ssm, joint) = match &b.mixer {
            Mixer::Attention(a) => (Some(&**a), None, None),
            Mixer::Mamba(s) => (None, Some(&**s), None),
            Mixer::Intra(i) => (Some(&i.attn), Some(&i.ssm), i.out_proj.as_ref()),
        };
        if let Some(a) = attn {
            m.extend([&a.q_proj, &a.k_proj, &a.v_proj]);
            m.extend(&a.o_proj);
        }
        if let Some(s) = ssm {
            m.push(&s.in_proj);
            m.extend(&s.out_proj);
        }
        m.extend(joint);
        if let Some(f) = &b.ffn {
            m.extend(&f.gate_proj);
            m.extend([&f.up_proj, &f.down_proj]);
        }
    }
    m
}
