//! `hybrid inspect`: the layer plan drawn as text, with sizes.

use std::fmt::Write;

use hybrid_core::config::FfnAct;
use hybrid_core::{LayerKind, ModelConfig};

/// Human units: 1.2K, 3.4M.
pub fn count(n: usize) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// Bytes in KiB / MiB / GiB.
pub fn bytes(n: usize) -> String {
    let f = n as f64;
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", f / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.2} MiB", f / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", f / 1024.0),
        n => format!("{n} B"),
    }
}

/// The full report for `cfg` at context length `t`.
pub fn report(cfg: &ModelConfig, t: usize) -> String {
    let mut s = String::new();
    let d = cfg.d_model;
    let _ = writeln!(
        s,
        "{}: {} blocks, {} parameters, d_model {d}, d_ffn {}, vocab {}",
        cfg.display_name(),
        cfg.layers.len(),
        count(cfg.param_count()),
        cfg.d_ffn,
        cfg.vocab_size
    );
    let _ = writeln!(
        s,
        "  {:<5} {:<48} {:>9}",
        "",
        "embed_tokens",
        count(cfg.vocab_size * d)
    );
    for (i, kind) in cfg.layers.iter().enumerate() {
        let what = match kind {
            LayerKind::Attention => cfg.attn_dims().map_or(String::new(), |a| {
                let sinks = cfg.attention.as_ref().map_or(0, |a| a.sink_tokens);
                let win = cfg
                    .layer_window(i)
                    .map_or(String::new(), |w| format!(", window {w}+{sinks} sinks"));
                let dv = if a.v_head_dim == a.head_dim {
                    String::new()
                } else {
                    format!(" (v {})", a.v_head_dim)
                };
                format!(
                    "Attention {}q/{}kv x {}{dv}{win}",
                    a.n_heads, a.n_kv_heads, a.head_dim
                )
            }),
            LayerKind::Mamba => cfg.mamba_dims().map_or(String::new(), |m| {
                format!(
                    "Mamba-2 H={} P={} N={} G={}",
                    m.n_heads, m.head_dim, m.d_state, m.n_groups
                )
            }),
            LayerKind::Intra => match (
                cfg.intra.as_ref(),
                cfg.intra_attn_dims(),
                cfg.intra_mamba_dims(),
            ) {
                (Some(i), Some(a), Some(m)) => format!(
                    "Intra {}q/{}kv || {}H, {:?} {:?}{}",
                    a.n_heads,
                    a.n_kv_heads,
                    m.n_heads,
                    i.fusion,
                    i.out_proj,
                    if i.branch_norm { ", branch norm" } else { "" }
                )
                .to_lowercase(),
                _ => String::new(),
            },
        };
        let bar = match kind {
            LayerKind::Attention => "[A]",
            LayerKind::Mamba => "[M]",
            LayerKind::Intra => "[A|M]",
        };
        let ffn = match (cfg.has_ffn(i), cfg.ffn_act) {
            (false, _) => "",
            (true, FfnAct::Swiglu) => "  + SwiGLU",
            (true, FfnAct::Relu2) => "  + relu2 MLP",
        };
        let _ = writeln!(
            s,
            "  {i:<2}{bar:<5} {what:<46} {:>9}{ffn}",
            count(cfg.block_params(i))
        );
    }
    let head = if cfg.tie_embeddings {
        "norm_f, head tied to embed_tokens"
    } else {
        "norm_f + lm_head"
    };
    let head_params = d + if cfg.tie_embeddings {
        0
    } else {
        cfg.vocab_size * d
    };
    let _ = writeln!(s, "  {:<5} {head:<48} {:>9}", "", count(head_params));
    let _ = writeln!(s, "memory at {t} tokens (f32):");
    let _ = writeln!(
        s,
        "  KV cache    {:>12}  ({} per token)",
        bytes(cfg.kv_cache_bytes(t)),
        bytes(cfg.kv_bytes_per_token())
    );
    let _ = writeln!(s, "  SSM state   {:>12}", bytes(cfg.ssm_state_bytes()));
    let _ = writeln!(s, "  conv state  {:>12}", bytes(cfg.conv_state_bytes()));
    let _ = writeln!(s, "  total       {:>12}", bytes(cfg.cache_bytes(t)));
    let _ = writeln!(s, "  weights     {:>12}", bytes(cfg.param_count() * 4));
    let _ = writeln!(
        s,
        "decode FLOPs per token at {t}: {}",
        count(cfg.flops_per_token(t))
    );
    s
}

/// What the GPU engine will allocate for `cfg` and one session of `t` tokens (chunks of
/// 1024), computed before loading, by weight format; with the largest buffer (the one a
/// device's per-binding limit refuses first).
pub fn gpu_estimate(cfg: &ModelConfig, t: usize) -> String {
    let mut s = String::new();
    let opts = hybrid_gpu::SessionOptions {
        max_context: t,
        chunk: 1024,
    };
    let _ = writeln!(
        s,
        "GPU memory at {t} tokens, chunks of 1024, estimated before loading:"
    );
    for f in [
        hybrid_gpu::WeightFormat::F32,
        hybrid_gpu::WeightFormat::BF16,
    ] {
        let e = hybrid_gpu::estimate(cfg, f, opts);
        let r = e.report;
        let mats = match f {
            hybrid_gpu::WeightFormat::F32 => "f32 matrices",
            _ => "f16/bf16 matrices",
        };
        let _ = writeln!(
            s,
            "  {mats:<17} weights {}, KV cache {}, state {}, activations {}, other {}: total {}",
            bytes(r.weights as usize),
            bytes(r.kv_cache as usize),
            bytes((r.ssm_state + r.conv_state) as usize),
            bytes(r.activations as usize),
            bytes(r.other as usize),
            bytes(r.total() as usize)
        );
        if let Some((name, b)) = e.largest() {
            let _ = writeln!(
                s,
                "  {:<17} largest buffer {name}: {}",
                "",
                bytes(*b as usize)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_every_block_and_the_cache() {
        let cfg = ModelConfig::from_json(
            br#"{"name":"demo","vocab_size":256,"d_model":64,"d_ffn":128,
            "layers":["mamba","attention","mamba","intra"],
            "attention":{"n_heads":4,"n_kv_heads":2,"head_dim":16},
            "mamba":{"d_state":16,"head_dim":16},
            "intra":{"attn_heads":2,"attn_kv_heads":1,"ssm_heads":4}}"#,
        )
        .expect("config");
        let r = report(&cfg, 1024);
        assert!(r.starts_with("demo: 4 blocks"), "{r}");
        assert!(r.contains("[A|M]") && r.contains("subtract"), "{r}");
        // 2 attention-bearing layers: (2*2*16 + 2*1*16) * 4 bytes... per token
        assert!(r.contains(&format!("({} per token)", bytes(cfg.kv_bytes_per_token()))));
        assert_eq!(cfg.kv_bytes_per_token(), (2 * 32 + 2 * 16) * 4);
        assert_eq!(count(1_234_567), "1.23M");
        assert_eq!(bytes(3 << 20), "3.00 MiB");
    }
}
