//! The chunked SSD form of the Mamba-2 scan (what a prefill runs), its heads in
//! parallel on the engine's threads; `mamba::scan_recurrent` is the recurrence it equals.

use super::ops::{gemm, Mat};
use super::par;
use crate::config::MambaDims;

/// The chunked SSD form: within a chunk, outputs come from the masked matrix
/// `L[t, s] = (C_t . B_s) exp(a_t - a_s) dt_s` (a = cumulative dt A) plus the carried-in state
/// decayed to t; the state passes between chunks. Equal to [`super::mamba::scan_recurrent`] up to rounding.
///
/// Per chunk of Q tokens, group g, head h (X_h [Q, P], B_g and C_g [Q, N], S_h [P, N]):
///   CB = C_g B_g^T                                   [Q, Q]   (once per group)
///   Y_h = L X_h + diag(exp(a)) C_g S_h^T + D_h X_h   [Q, P]
///   S_h <- exp(a_last) S_h + X_h^T diag(exp(a_last - a) dt) B_g
pub fn scan_chunked(
    m: MambaDims,
    xbc: &[f32],
    dt: &[f32],
    a: &[f32],
    d_skip: &[f32],
    s: &mut [f32],
    chunk: usize,
) -> Vec<f32> {
    let (e, c, p, n, groups) = (m.d_inner(), m.conv_dim(), m.head_dim, m.d_state, m.n_groups);
    let t_len = xbc.len() / c;
    // CB of every (chunk, group), in parallel: index chunk * G + g
    let pairs: Vec<(usize, usize)> = (0..t_len)
        .step_by(chunk)
        .flat_map(|c0| (0..groups).map(move |g| (c0, g)))
        .collect();
    let cb = par::map(pairs, |(c0, g)| {
        let q = (c0 + chunk).min(t_len) - c0;
        let rows = &xbc[c0 * c..];
        let b_g = Mat::cols(&rows[e + g * n..], c); // B_g^T [N, Q]
        let c_g = Mat::rows(&rows[e + groups * n + g * n..], c); // [Q, N]
        let mut cb = vec![0.0; q * q];
        gemm(q, n, q, c_g, b_g, &mut cb, q);
        cb
    });
    // then the heads in parallel, each over all chunks with its own state S_h
    let scan = HeadScan {
        m,
        xbc,
        dt,
        a,
        d_skip,
        cb: &cb,
        chunk,
    };
    let heads: Vec<(usize, &mut [f32])> = s.chunks_exact_mut(p * n).enumerate().collect();
    let ys = par::map(heads, |(hh, sh)| scan.head(hh, sh));
    let mut y = vec![0.0; t_len * e];
    for (hh, y_h) in ys.iter().enumerate() {
        for (t, row) in y_h.chunks_exact(p).enumerate() {
            y[t * e + hh * p..t * e + (hh + 1) * p].copy_from_slice(row);
        }
    }
    y
}

/// What every head of [`scan_chunked`] reads; `cb` holds `C_g B_g^T` [Q, Q] of each chunk
/// and group (index chunk * G + g).
struct HeadScan<'a> {
    m: MambaDims,
    xbc: &'a [f32],
    dt: &'a [f32],
    a: &'a [f32],
    d_skip: &'a [f32],
    cb: &'a [Vec<f32>],
    chunk: usize,
}

impl HeadScan<'_> {
    /// Head `hh` over every chunk, carrying its state `sh` [P, N]: returns Y_h [T, P].
    fn head(&self, hh: usize, sh: &mut [f32]) -> Vec<f32> {
        let (m, xbc, dt, chunk) = (self.m, self.xbc, self.dt, self.chunk);
        let (e, c, h, p, n) = (m.d_inner(), m.conv_dim(), m.n_heads, m.head_dim, m.d_state);
        let g = hh / (h / m.n_groups);
        let t_len = xbc.len() / c;
        let (a, dskip) = (self.a[hh], self.d_skip[hh]);
        let mut y = vec![0.0; t_len * p]; // Y_h [T, P]
        let mut cum = vec![0.0f32; chunk]; // a, [Q]
        let mut l = vec![0.0f32; chunk * chunk]; // [Q, Q]
        let mut yx = vec![0.0f32; chunk * p]; // L X_h, [Q, P]
        let mut cs = vec![0.0f32; chunk * p]; // C_g S_h^T, [Q, P]
        let mut bw = vec![0.0f32; chunk * n]; // diag(w) B_g, [Q, N]
        let mut ds = vec![0.0f32; p * n]; // [P, N]
        for (ci, c0) in (0..t_len).step_by(chunk).enumerate() {
            let q = (c0 + chunk).min(t_len) - c0;
            let rows = &xbc[c0 * c..]; // this chunk's [Q, C] rows, and beyond
            let cb = &self.cb[ci * m.n_groups + g]; // [Q, Q]
            let c_g = Mat::rows(&rows[e + m.n_groups * n + g * n..], c); // [Q, N]
            let x_h = Mat::rows(&rows[hh * p..], c); // [Q, P]
                                                     // a_j = sum_{r=c0..=c0+j} dt_r A  (log of the decay from the chunk start to j)
            let mut acc = 0.0;
            for (j, cj) in cum.iter_mut().enumerate().take(q) {
                acc += dt[(c0 + j) * h + hh] * a;
                *cj = acc;
            }
            // L[j, i] = (C_j . B_i) exp(a_j - a_i) dt_i for i <= j, else 0
            for j in 0..q {
                for i in 0..q {
                    l[j * q + i] = if i <= j {
                        cb[j * q + i] * (cum[j] - cum[i]).exp() * dt[(c0 + i) * h + hh]
                    } else {
                        0.0
                    };
                }
            }
            gemm(q, q, p, Mat::rows(&l, q), x_h, &mut yx, p);
            gemm(q, n, p, c_g, Mat::cols(sh, n), &mut cs, p);
            for j in 0..q {
                let (t, carry) = (c0 + j, cum[j].exp());
                for pi in 0..p {
                    let xt = xbc[t * c + hh * p + pi];
                    y[t * p + pi] = yx[j * p + pi] + carry * cs[j * p + pi] + dskip * xt;
                }
            }
            // carry the state to the chunk end
            let last = cum[q - 1];
            for i in 0..q {
                let wgt = (last - cum[i]).exp() * dt[(c0 + i) * h + hh];
                for (bv, &b) in bw[i * n..(i + 1) * n]
                    .iter_mut()
                    .zip(&rows[i * c + e + g * n..])
                {
                    *bv = wgt * b;
                }
            }
            gemm(
                p,
                q,
                n,
                Mat::cols(x_h.data, c),
                Mat::rows(&bw, n),
                &mut ds,
                n,
            );
            let decay = last.exp();
            for (sv, dv) in sh.iter_mut().zip(&ds) {
                *sv = decay * *sv + dv;
            }
        }
        y
    }
}
