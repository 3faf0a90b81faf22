//! Mamba-2 (SSD) mixer: `in_proj`, causal depthwise conv + SiLU, the selective scan, and
//! the gate. The scan exists twice: the recurrence (one token at a time, what a decode step
//! runs) and the chunked SSD form (what a prefill runs); tests hold them equal.
//!
//! Per head h, with state S_h [P, N] (paper: h_t; Mamba-2 eq. for SSD):
//!   S_t = exp(dt_t A) S_{t-1} + dt_t x_t B_t^T,   y_t = S_t C_t + D x_t.

use super::ops::{matmul, silu, softplus};
use super::par;
pub use super::ssd::scan_chunked;
use crate::config::MambaDims;
use crate::intervene::{DtOp, SsmPlan};
pub use crate::probes::MambaTrace;
use crate::weights::MambaWeights;

/// Recurrent state of one Mamba mixer.
#[derive(Debug, Clone)]
pub struct SsmState {
    /// Last W-1 conv inputs, [W-1, E+2GN] (oldest first).
    pub conv: Vec<f32>,
    /// S, [H, P, N].
    pub ssm: Vec<f32>,
}

impl SsmState {
    /// Zero state.
    pub fn new(m: MambaDims) -> Self {
        SsmState {
            conv: vec![0.0; m.conv_state_len()],
            ssm: vec![0.0; m.ssm_state_len()],
        }
    }
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.conv.len() + self.ssm.len()) * 4
    }
}

/// How to run the scan over several tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Token by token.
    Recurrent,
    /// Chunked SSD with this chunk length.
    Chunked(usize),
}

/// Run the mixer over `u` [T, D] at positions `pos0..pos0+T`; returns `y * silu(z)`
/// [T, E] (before any norm and output projection) and updates `state`. With `trace`, the
/// scan runs as the recurrence (to see every intermediate state) and the probes are
/// filled. `edit` holds the interventions (dt edits, state resets) of this layer.
#[allow(clippy::too_many_arguments)]
pub fn mamba_mixer(
    w: &MambaWeights,
    u: &[f32],
    d: usize,
    pos0: usize,
    state: &mut SsmState,
    scan: Scan,
    edit: &SsmPlan,
    trace: Option<&mut MambaTrace>,
) -> Vec<f32> {
    let m = w.dims;
    let (e, c, h) = (m.d_inner(), m.conv_dim(), m.n_heads);
    let proj = matmul(u, &w.in_proj.data, d); // [T, 2E + 2GN + H]
    let width = m.in_proj_dim();
    let t_len = proj.len() / width;

    // Causal depthwise conv over [conv state; xBC], then SiLU.
    let wc = m.conv_width;
    let mut ext = vec![0.0; state.conv.len() + t_len * c]; // [(W-1) + T, C]
    let (past, xbc_in) = ext.split_at_mut(state.conv.len());
    past.copy_from_slice(&state.conv);
    par::rows_mut(xbc_in, c, |t0, band| {
        for (i, row) in band.chunks_exact_mut(c).enumerate() {
            row.copy_from_slice(&proj[(t0 + i) * width + e..(t0 + i) * width + e + c]);
        }
    });
    // taps by row, [W, C], so that a row of the output is W contiguous multiply-adds
    let taps: Vec<f32> = (0..wc * c)
        .map(|i| w.conv_weight.data[(i % c) * wc + i / c])
        .collect();
    let mut xbc = vec![0.0; t_len * c]; // [T, C]
    par::rows_mut(&mut xbc, c, |t0, band| {
        for (i, row) in band.chunks_exact_mut(c).enumerate() {
            row.copy_from_slice(&w.conv_bias.data);
            for (k, tap) in taps.chunks_exact(c).enumerate() {
                let x = &ext[(t0 + i + k) * c..(t0 + i + k + 1) * c];
                for ((out, &wk), &xv) in row.iter_mut().zip(tap).zip(x) {
                    *out += wk * xv;
                }
            }
            row.iter_mut().for_each(|v| *v = silu(*v));
        }
    });
    state.conv.copy_from_slice(&ext[t_len * c..]);

    // dt = softplus(dt + dt_bias), A = -exp(A_log).
    let mut dt = vec![0.0; t_len * h]; // [T, H]
    par::rows_mut(&mut dt, h, |t0, band| {
        for (i, row) in band.chunks_exact_mut(h).enumerate() {
            let raw = &proj[(t0 + i) * width + e + c..(t0 + i) * width + e + c + h];
            for ((v, &r), &b) in row.iter_mut().zip(raw).zip(&w.dt_bias.data) {
                *v = softplus(r + b);
            }
        }
    });
    edit_dt(&mut dt, h, pos0, edit);
    let a: Vec<f32> = w.a_log.data.iter().map(|v| -v.exp()).collect();

    // The scan, split before each token where a reset zeroes the state of some heads.
    let mut cuts: Vec<(usize, Option<&[usize]>)> = (edit.resets.iter())
        .filter(|(at, _)| (pos0..pos0 + t_len).contains(at))
        .map(|(at, heads)| (at - pos0, heads.as_deref()))
        .collect();
    cuts.sort_by_key(|c| c.0);
    let mut norms = trace.as_ref().map(|_| Vec::with_capacity(t_len * h));
    let mut y = Vec::new(); // [T, E], the segments in order
    let mut start = 0;
    for (j, heads) in (cuts.iter().copied())
        .map(|(j, hs)| (j, Some(hs)))
        .chain([(t_len, None)])
    {
        if j > start {
            let (x_s, dt_s) = (&xbc[start * c..j * c], &dt[start * h..j * h]);
            let ys = match norms.as_mut() {
                Some(nr) => {
                    let mut part = vec![0.0; (j - start) * h];
                    let ys = scan_recurrent(
                        m,
                        x_s,
                        dt_s,
                        &a,
                        &w.d_skip.data,
                        &mut state.ssm,
                        Some(&mut part),
                    );
                    nr.extend_from_slice(&part);
                    ys
                }
                None => match scan {
                    Scan::Chunked(q) if j - start > 1 => {
                        scan_chunked(m, x_s, dt_s, &a, &w.d_skip.data, &mut state.ssm, q.max(1))
                    }
                    _ => scan_recurrent(m, x_s, dt_s, &a, &w.d_skip.data, &mut state.ssm, None),
                },
            };
            if y.is_empty() {
                y = ys; // one segment (no reset): no copy
            } else {
                y.extend_from_slice(&ys);
            }
            start = j;
        }
        if let Some(heads) = heads {
            reset_heads(m, &mut state.ssm, heads);
        }
    }
    if let (Some(tr), Some(nr)) = (trace, norms) {
        tr.dt = dt.clone();
        tr.implicit_attn = implicit_attention(m, &xbc, &dt, &a);
        // a reset at j cuts every path from a token before j to one at or after it
        for &(j, heads) in &cuts {
            for hh in (0..h).filter(|hh| heads.is_none_or(|hs| hs.contains(hh))) {
                for t in j..t_len {
                    let row = (hh * t_len + t) * t_len;
                    tr.implicit_attn[row..row + j].fill(0.0);
                }
            }
        }
        tr.state_norm = nr;
    }

    // Gate: y * silu(z).
    par::rows_mut(&mut y, e, |t0, band| {
        for (i, row) in band.chunks_exact_mut(e).enumerate() {
            let z = &proj[(t0 + i) * width..];
            for (v, &zv) in row.iter_mut().zip(z) {
                *v *= silu(zv);
            }
        }
    });
    y
}

/// Apply the dt interventions to `dt` [T, H] (positions `pos0..`), in order, then the
/// freezes (Δ = 0: decay 1 and no input, so S holds).
fn edit_dt(dt: &mut [f32], h: usize, pos0: usize, edit: &SsmPlan) {
    for (heads, op) in &edit.dt {
        for row in dt.chunks_exact_mut(h) {
            for (hh, v) in row.iter_mut().enumerate() {
                if heads.as_ref().is_some_and(|hs| !hs.contains(&hh)) {
                    continue;
                }
                *v = match op {
                    DtOp::Scale(k) => *v * k,
                    DtOp::Max(mx) => v.min(*mx),
                };
            }
        }
    }
    for (from, heads) in &edit.freezes {
        for (t, row) in dt.chunks_exact_mut(h).enumerate() {
            if pos0 + t < *from {
                continue;
            }
            for (hh, v) in row.iter_mut().enumerate() {
                if heads.as_ref().is_none_or(|hs| hs.contains(&hh)) {
                    *v = 0.0;
                }
            }
        }
    }
}

/// Zero S of `heads` (None: all) in `s` [H, P, N].
fn reset_heads(m: MambaDims, s: &mut [f32], heads: Option<&[usize]>) {
    let size = m.head_dim * m.d_state;
    for (hh, sh) in s.chunks_exact_mut(size).enumerate() {
        if heads.is_none_or(|hs| hs.contains(&hh)) {
            sh.fill(0.0);
        }
    }
}

/// B and C of head `hh` at token `t`, each [N].
fn b_c(m: MambaDims, xbc: &[f32], t: usize, hh: usize) -> (&[f32], &[f32]) {
    let (e, n, c) = (m.d_inner(), m.d_state, m.conv_dim());
    let g = hh / (m.n_heads / m.n_groups);
    let row = &xbc[t * c..(t + 1) * c];
    let b = &row[e + g * n..e + (g + 1) * n];
    let cc = &row[e + m.n_groups * n + g * n..e + m.n_groups * n + (g + 1) * n];
    (b, cc)
}

/// The recurrence, token by token; optionally writes ||S_h|| after each token into
/// `norms` [T, H].
pub fn scan_recurrent(
    m: MambaDims,
    xbc: &[f32],
    dt: &[f32],
    a: &[f32],
    d_skip: &[f32],
    s: &mut [f32],
    mut norms: Option<&mut Vec<f32>>,
) -> Vec<f32> {
    let (e, c, h, p, n) = (m.d_inner(), m.conv_dim(), m.n_heads, m.head_dim, m.d_state);
    let t_len = xbc.len() / c;
    let mut y = vec![0.0; t_len * e];
    for t in 0..t_len {
        for hh in 0..h {
            let dth = dt[t * h + hh];
            let decay = (dth * a[hh]).exp();
            let (b, cc) = b_c(m, xbc, t, hh);
            let x = &xbc[t * c + hh * p..t * c + (hh + 1) * p];
            let sh = &mut s[hh * p * n..(hh + 1) * p * n];
            for (pi, &xp) in x.iter().enumerate() {
                let row = &mut sh[pi * n..(pi + 1) * n];
                let mut acc = 0.0;
                for ((sv, &bv), &cv) in row.iter_mut().zip(b).zip(cc) {
                    *sv = decay * *sv + dth * xp * bv;
                    acc += *sv * cv;
                }
                y[t * e + hh * p + pi] = acc + d_skip[hh] * xp;
            }
            if let Some(nr) = norms.as_deref_mut() {
                nr[t * h + hh] = super::ops::l2(sh);
            }
        }
    }
    y
}

/// Mamba-2's implicit attention, [H, T, T]:
/// `M[t, s] = (C_t . B_s) dt_s exp(sum_{r=s+1..t} dt_r A)` for s <= t, else 0.
pub fn implicit_attention(m: MambaDims, xbc: &[f32], dt: &[f32], a: &[f32]) -> Vec<f32> {
    let (c, h) = (m.conv_dim(), m.n_heads);
    let t_len = xbc.len() / c;
    let mut out = vec![0.0; h * t_len * t_len];
    for hh in 0..h {
        let mut cum = Vec::with_capacity(t_len);
        let mut acc = 0.0f32;
        for t in 0..t_len {
            acc += dt[t * h + hh] * a[hh];
            cum.push(acc);
        }
        for t in 0..t_len {
            let (_, ct) = b_c(m, xbc, t, hh);
            for s in 0..=t {
                let (bs, _) = b_c(m, xbc, s, hh);
                out[(hh * t_len + t) * t_len + s] =
                    super::ops::dot(ct, bs) * dt[s * h + hh] * (cum[t] - cum[s]).exp();
            }
        }
    }
    out
}
