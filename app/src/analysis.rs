//! What the Attention and State views draw, extracted from the engine's probes over the
//! prompt: per-head attention maps, Mamba's implicit attention, dt and state norms as
//! [heads x tokens] matrices, and the intra blocks' per-token branch contributions.

use crate::charts::heatmap::Matrix;
use crate::engine::{Backend, Interventions, LayerKind, Probes, StateBytes};

/// Longest prompt the maps show (T x T cells per head).
pub const MAX_PROBE_TOKENS: usize = 64;

/// One block's views.
#[derive(Clone, Debug, Default)]
pub struct LayerView {
    pub kind: Option<LayerKind>,
    /// Softmax weights per query head, [T x T] (row = query, column = key).
    pub attn: Vec<Matrix>,
    /// Mamba-2 implicit attention per SSM head, [T x T].
    pub implicit: Vec<Matrix>,
    /// dt per head and token, [H x T].
    pub dt: Option<Matrix>,
    /// ||S_h|| per head after each token, [H x T].
    pub state_norm: Option<Matrix>,
    /// (attention, Mamba) contribution norms per token (intra blocks).
    pub branches: Vec<(f32, f32)>,
}

/// The analysis of one model over one prompt.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// Printable token labels (axis labels).
    pub labels: Vec<String>,
    /// Tokens in the prompt before the cap, when it was cut.
    pub cut_from: Option<usize>,
    pub layers: Vec<LayerView>,
    /// Measured memory of the state after the prompt.
    pub bytes: StateBytes,
    /// The engine that computed the probes: "WebGPU" or "CPU".
    pub engine: &'static str,
}

/// A token's text made visible for an axis label: spaces and control characters are
/// shown as symbols, long tokens are shortened.
pub fn label(token: &str) -> String {
    let mut s: String = token
        .chars()
        .map(|c| match c {
            ' ' => '␣',
            '\n' => '⏎',
            '\t' => '⇥',
            c if c.is_control() => '·',
            c => c,
        })
        .collect();
    if s.chars().count() > 8 {
        s = s.chars().take(7).collect::<String>() + "…";
    }
    if s.is_empty() {
        "∅".into()
    } else {
        s
    }
}

fn heads(v: &[f32], h: usize, t: usize) -> Result<Vec<Matrix>, String> {
    if v.len() != h * t * t {
        return Err(format!("probe of {} values, expected {h}x{t}x{t}", v.len()));
    }
    Ok(v.chunks(t * t)
        .filter_map(|c| Matrix::new(t, t, c.to_vec()))
        .collect())
}

/// [T, H] row-major into an [H x T] matrix.
pub fn transpose_th(v: &[f32], t: usize, h: usize) -> Result<Matrix, String> {
    if v.len() != t * h {
        return Err(format!("probe of {} values, expected {t}x{h}", v.len()));
    }
    let mut out = vec![0.0; t * h];
    for ti in 0..t {
        for hi in 0..h {
            out[hi * t + ti] = v[ti * h + hi];
        }
    }
    Matrix::new(h, t, out).ok_or_else(|| "bad matrix".into())
}

/// Turns engine probes into per-layer views.
pub fn layer_views(probes: &Probes, kinds: &[LayerKind]) -> Result<Vec<LayerView>, String> {
    let t = probes.tokens;
    probes
        .layers
        .iter()
        .enumerate()
        .map(|(i, lp)| {
            let mut v = LayerView {
                kind: kinds.get(i).copied(),
                ..LayerView::default()
            };
            if let Some(a) = &lp.attn_probs {
                v.attn = heads(a, lp.attn_heads, t)?;
            }
            if let Some(m) = &lp.implicit_attn {
                v.implicit = heads(m, lp.ssm_heads, t)?;
            }
            if let Some(dt) = &lp.dt {
                v.dt = Some(transpose_th(dt, t, lp.ssm_heads)?);
            }
            if let Some(n) = &lp.state_norm {
                v.state_norm = Some(transpose_th(n, t, lp.ssm_heads)?);
            }
            if let Some(b) = &lp.branch_norms {
                v.branches = b
                    .chunks(2)
                    .filter(|c| c.len() == 2)
                    .map(|c| (c[0], c[1]))
                    .collect();
            }
            Ok(v)
        })
        .collect()
}

/// Encodes `prompt`, cuts it to [`MAX_PROBE_TOKENS`] and runs the probes on the
/// backend's engine.
pub async fn analyze(backend: &Backend, prompt: &str) -> Result<Analysis, String> {
    let (ids, cut_from) = prompt_ids(backend, prompt)?;
    let (probes, bytes, engine) = backend.probe_async(&ids).await?;
    assemble(backend, &ids, cut_from, &probes, bytes, engine)
}

/// [`analyze`] under the interventions `set` (the Interventions panel), on the engine
/// that runs intervened forwards (`Backend::intervened_session`).
pub fn analyze_with(
    backend: &Backend,
    prompt: &str,
    set: &Interventions,
) -> Result<Analysis, String> {
    let (ids, cut_from) = prompt_ids(backend, prompt)?;
    let (probes, bytes, engine) = backend.probe_with(&ids, set)?;
    assemble(backend, &ids, cut_from, &probes, bytes, engine)
}

/// The prompt's token ids, cut to [`MAX_PROBE_TOKENS`], and its length when cut.
fn prompt_ids(backend: &Backend, prompt: &str) -> Result<(Vec<u32>, Option<usize>), String> {
    let tokenizer = backend.tokenizer().ok_or("this model has no tokenizer")?;
    let mut ids = tokenizer
        .encode(prompt)
        .map_err(|e| format!("could not tokenize the prompt: {e}"))?;
    if ids.is_empty() {
        return Err("the prompt is empty: type a few words first".into());
    }
    let cut_from = (ids.len() > MAX_PROBE_TOKENS).then_some(ids.len());
    ids.truncate(MAX_PROBE_TOKENS);
    Ok((ids, cut_from))
}

fn assemble(
    backend: &Backend,
    ids: &[u32],
    cut_from: Option<usize>,
    probes: &Probes,
    bytes: StateBytes,
    engine: &'static str,
) -> Result<Analysis, String> {
    let tokenizer = backend.tokenizer().ok_or("this model has no tokenizer")?;
    let layers = layer_views(probes, &backend.config().layers)?;
    let labels = tokenizer
        .token_strings(ids)
        .iter()
        .map(|s| label(s))
        .collect();
    Ok(Analysis {
        labels,
        cut_from,
        layers,
        bytes,
        engine,
    })
}

/// The `q` quantile of |v| over the non-zero finite values (0 when there are none).
pub fn robust_max<'a>(values: impl Iterator<Item = &'a f32>, q: f64) -> f32 {
    let mut v: Vec<f32> = values
        .filter(|x| x.is_finite() && **x != 0.0)
        .map(|x| x.abs())
        .collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Shared color maxima across compared models: (implicit attention, dt max, state norm
/// max). Implicit attention uses the 98th percentile of |value| (a few large entries
/// would wash out the rest; larger values are drawn at the ends of the scale).
/// Attention weights always use [0, 1].
pub fn shared_maxima(all: &[&Analysis]) -> (f32, f32, f32) {
    let mut m = (0.0f32, 0.0f32, 0.0f32);
    m.0 = robust_max(
        all.iter()
            .flat_map(|a| a.layers.iter())
            .flat_map(|l| l.implicit.iter())
            .flat_map(|x| x.values.iter()),
        0.98,
    );
    for a in all {
        for l in &a.layers {
            if let Some(d) = &l.dt {
                m.1 = m.1.max(d.max_abs());
            }
            if let Some(n) = &l.state_norm {
                m.2 = m.2.max(n.max_abs());
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::tests::test_model;

    #[test]
    fn analyzes_the_test_model() {
        let m = test_model();
        let a = pollster::block_on(analyze(&m, "Hello, hybrid world")).unwrap();
        assert_eq!(a.engine, "CPU");
        assert_eq!(a.labels.len(), 19);
        assert_eq!(a.labels[6], "␣");
        assert_eq!(a.layers.len(), 4);
        // inter_1to3: mamba, attention, mamba, mamba
        assert!(a.layers[0].attn.is_empty() && a.layers[0].implicit.len() == 8);
        assert_eq!(a.layers[1].attn.len(), 4);
        let row_sum: f32 = (0..19)
            .map(|k| a.layers[1].attn[0].get(7, k).unwrap())
            .sum();
        assert!(
            (row_sum - 1.0).abs() < 1e-4,
            "softmax rows sum to 1: {row_sum}"
        );
        assert_eq!(a.layers[1].attn[0].get(3, 9), Some(0.0), "causal");
        let dt = a.layers[0].dt.as_ref().unwrap();
        assert_eq!((dt.rows, dt.cols), (8, 19));
        assert!(dt.values.iter().all(|v| *v > 0.0), "dt is softplus'd");
        assert!(a.bytes.kv_cache > 0);
        let (imp, dtm, norm) = shared_maxima(&[&a]);
        assert!(imp > 0.0 && dtm > 0.0 && norm > 0.0);
        assert_eq!(a.cut_from, None);
        let long = "x".repeat(100);
        let b = pollster::block_on(analyze(&m, &long)).unwrap();
        assert_eq!((b.labels.len(), b.cut_from), (MAX_PROBE_TOKENS, Some(100)));
    }

    #[test]
    fn labels_are_visible() {
        assert_eq!(label(" "), "␣");
        assert_eq!(label("a\nb"), "a⏎b");
        assert_eq!(label("abcdefghijk"), "abcdefg…");
        assert_eq!(label(""), "∅");
        assert!(transpose_th(&[1.0, 2.0, 3.0], 2, 2).is_err());
        let v = [0.0, -4.0, 1.0, 2.0, 3.0];
        assert_eq!(robust_max(v.iter(), 1.0), 4.0);
        assert_eq!(robust_max(v.iter(), 0.0), 1.0);
        assert_eq!(robust_max([0.0f32].iter(), 0.5), 0.0);
        let m = transpose_th(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2).unwrap();
        assert_eq!(m.values, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    }
}
