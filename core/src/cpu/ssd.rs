//! The chunked SSD form of the Mamba-2 scan (what a prefill runs), on the engine's
//! threads; `mamba::scan_recurrent` is the recurrence it equals.

use super::exp::exp;
use super::ops::{gemm_task, Mat};
use super::par;
use crate::config::MambaDims;

/// The chunked SSD form: within a chunk, outputs come from the masked matrix
/// `L[t, s] = (C_t . B_s) exp(a_t - a_s) dt_s` (a = cumulative dt A) plus the carried-in state
/// decayed to t; the state passes between chunks. Equal to [`super::mamba::scan_recurrent`] up to rounding.
///
/// Per chunk of Q tokens, group g, head h (X_h [Q, P], B_g and C_g [Q, N], S_h [P, N]),
/// in four passes, each of the first, second and fourth one task per (chunk, group or
/// head) on the threads, the third one task per head:
///   1. CB = C_g B_g^T                                        [Q, Q]
///   2. L X_h [Q, P] and the chunk's own state X_h^T diag(exp(a_last - a) dt) B_g [P, N]
///   3. the state pass: S_h entering each chunk; S_h <- exp(a_last) S_h + the chunk's own
///   4. Y_h = L X_h + diag(exp(a)) C_g S_h^T + D_h X_h        [Q, P]
///
/// Every value is computed by the same task on any thread count.
pub fn scan_chunked(
    m: MambaDims,
    xbc: &[f32],
    dt: &[f32],
    a: &[f32],
    d_skip: &[f32],
    s: &mut [f32],
    chunk: usize,
) -> Vec<f32> {
    let (e, c, h, p, n) = (m.d_inner(), m.conv_dim(), m.n_heads, m.head_dim, m.d_state);
    let t_len = xbc.len() / c;
    let starts: Vec<usize> = (0..t_len).step_by(chunk).collect();
    let pairs = |k: usize| -> Vec<(usize, usize)> {
        (0..starts.len())
            .flat_map(|ci| (0..k).map(move |j| (ci, j)))
            .collect()
    };
    let scan = Scan {
        m,
        xbc,
        dt,
        a,
        d_skip,
        chunk,
        t_len,
    };
    // 1. C B^T of every (chunk, group): index chunk * G + g
    let cb = par::map(pairs(m.n_groups), |(ci, g)| scan.cb(ci, g));
    // 2. every (chunk, head): index chunk * H + h
    let mut parts = par::map(pairs(h), |(ci, hh)| scan.intra(&cb, ci, hh));
    // 3. each head's state through the chunks: `own` becomes the state entering the chunk
    let mut by_head: Vec<Vec<&mut Part>> = (0..h).map(|_| Vec::new()).collect();
    for (i, part) in parts.iter_mut().enumerate() {
        by_head[i % h].push(part);
    }
    let heads: Vec<_> = s.chunks_exact_mut(p * n).zip(by_head).collect();
    par::map(heads, |(sh, chunks)| {
        for part in chunks {
            let decay = exp(part.cum[part.cum.len() - 1]);
            for (sv, ov) in sh.iter_mut().zip(part.own.iter_mut()) {
                let mine = *ov;
                *ov = *sv;
                *sv = decay * *sv + mine;
            }
        }
    });
    // 4. the outputs of every (chunk, head), then into Y [T, E] by rows
    let blocks = par::map(parts.into_iter().enumerate().collect(), |(i, part)| {
        scan.output(i / h, i % h, part)
    });
    let mut y = vec![0.0; t_len * e];
    par::rows_mut(&mut y, e, |t0, band| {
        for (i, row) in band.chunks_exact_mut(e).enumerate() {
            let (ci, j) = ((t0 + i) / chunk, (t0 + i) % chunk);
            for (hh, out) in row.chunks_exact_mut(p).enumerate() {
                out.copy_from_slice(&blocks[ci * h + hh][j * p..(j + 1) * p]);
            }
        }
    });
    y
}

/// What pass 2 leaves for one (chunk, head).
struct Part {
    /// a_j = sum of dt_r A from the chunk start to j, [Q].
    cum: Vec<f32>,
    /// L X_h, [Q, P].
    lx: Vec<f32>,
    /// The chunk's own state X_h^T diag(exp(a_last - a) dt) B_g, [P, N]; after pass 3,
    /// the state entering the chunk.
    own: Vec<f32>,
}

/// The inputs every pass of [`scan_chunked`] reads.
struct Scan<'a> {
    m: MambaDims,
    xbc: &'a [f32],
    dt: &'a [f32],
    a: &'a [f32],
    d_skip: &'a [f32],
    chunk: usize,
    t_len: usize,
}

impl Scan<'_> {
    /// First token and length of chunk `ci`.
    fn span(&self, ci: usize) -> (usize, usize) {
        let c0 = ci * self.chunk;
        (c0, (c0 + self.chunk).min(self.t_len) - c0)
    }

    /// This chunk's rows of xBC, [Q, C] and beyond: X at column h P, B_g at E + g N,
    /// C_g at E + G N + g N.
    fn rows(&self, c0: usize) -> &[f32] {
        &self.xbc[c0 * self.m.conv_dim()..]
    }

    /// Pass 1: `C_g B_g^T` [Q, Q] of chunk `ci`.
    fn cb(&self, ci: usize, g: usize) -> Vec<f32> {
        let (m, (c0, q)) = (self.m, self.span(ci));
        let (e, c, n) = (m.d_inner(), m.conv_dim(), m.d_state);
        let rows = self.rows(c0);
        let b_g = Mat::cols(&rows[e + g * n..], c); // B_g^T [N, Q]
        let c_g = Mat::rows(&rows[e + m.n_groups * n + g * n..], c); // [Q, N]
        let mut cb = vec![0.0; q * q];
        gemm_task(q, n, q, c_g, b_g, &mut cb, q);
        cb
    }

    /// Pass 2 for chunk `ci`, head `hh`; `cb` from pass 1.
    fn intra(&self, cb: &[Vec<f32>], ci: usize, hh: usize) -> Part {
        let (m, (c0, q)) = (self.m, self.span(ci));
        let (e, c, h, p, n) = (m.d_inner(), m.conv_dim(), m.n_heads, m.head_dim, m.d_state);
        let g = hh / (h / m.n_groups);
        let cb = &cb[ci * m.n_groups + g]; // [Q, Q]
        let rows = self.rows(c0);
        let x_h = Mat::rows(&rows[hh * p..], c); // [Q, P]
        let dt: Vec<f32> = (0..q).map(|j| self.dt[(c0 + j) * h + hh]).collect();
        let mut acc = 0.0;
        let cum: Vec<f32> = (dt.iter())
            .map(|d| {
                acc += d * self.a[hh];
                acc
            })
            .collect();
        // L[j, i] = (C_j . B_i) exp(a_j - a_i) dt_i for i <= j, else 0
        let mut l = vec![0.0f32; q * q];
        for (j, (lj, cbj)) in l.chunks_exact_mut(q).zip(cb.chunks_exact(q)).enumerate() {
            let aj = cum[j];
            let terms = (lj.iter_mut().zip(cbj))
                .zip(cum.iter().zip(&dt))
                .take(j + 1);
            for ((lv, &cbv), (&ai, &di)) in terms {
                *lv = cbv * exp(aj - ai) * di;
            }
        }
        let mut lx = vec![0.0; q * p];
        gemm_task(q, q, p, Mat::rows(&l, q), x_h, &mut lx, p);
        // the state this chunk adds: rows of B_g weighted by exp(a_last - a_i) dt_i
        let last = cum[q - 1];
        let mut bw = vec![0.0f32; q * n]; // [Q, N]
        for (i, row) in bw.chunks_exact_mut(n).enumerate() {
            let wgt = exp(last - cum[i]) * dt[i];
            let b = &rows[i * c + e + g * n..i * c + e + (g + 1) * n];
            for (bv, &bi) in row.iter_mut().zip(b) {
                *bv = wgt * bi;
            }
        }
        let mut own = vec![0.0; p * n];
        gemm_task(
            p,
            q,
            n,
            Mat::cols(x_h.data, c),
            Mat::rows(&bw, n),
            &mut own,
            n,
        );
        Part { cum, lx, own }
    }

    /// Pass 4 for chunk `ci`, head `hh`: Y_h [Q, P] (in the buffer of `part.lx`).
    fn output(&self, ci: usize, hh: usize, part: Part) -> Vec<f32> {
        let (m, (c0, q)) = (self.m, self.span(ci));
        let (e, c, h, p, n) = (m.d_inner(), m.conv_dim(), m.n_heads, m.head_dim, m.d_state);
        let g = hh / (h / m.n_groups);
        let rows = self.rows(c0);
        let c_g = Mat::rows(&rows[e + m.n_groups * n + g * n..], c); // [Q, N]
        let mut cs = vec![0.0; q * p]; // C_g S_h^T [Q, P]
        gemm_task(q, n, p, c_g, Mat::cols(&part.own, n), &mut cs, p);
        let (mut y, dskip) = (part.lx, self.d_skip[hh]);
        for (j, (yj, csj)) in y.chunks_exact_mut(p).zip(cs.chunks_exact(p)).enumerate() {
            let carry = exp(part.cum[j]);
            let x = &rows[j * c + hh * p..j * c + (hh + 1) * p];
            for ((yv, &cv), &xv) in yj.iter_mut().zip(csj).zip(x) {
                *yv = *yv + carry * cv + dskip * xv;
            }
        }
        y
    }
}
