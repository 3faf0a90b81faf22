//! The decode matvec against the CPU reference, on both of its kernels (matvec.wgsl, and
//! matvec_sg.wgsl where the adapter has subgroups): the fused RMSNorm (x staged, and x
//! longer than MAX_K normalized as it is read) and SwiGLU; the epilogues
//! (ops::matvec_epilogue): RoPE on the q|k|v row with the KV append (full, partial and
//! no RoPE; GQA; head sizes that are no multiple of the 8 rows of a workgroup), and the
//! Mamba-2 conv + SiLU with its state over three tokens. Tolerances relative, as
//! gpu/tests/ops.rs states them.

mod common;

use common::{devices, down, rel_err, up, up_u32, values};
use hybrid_core::cpu::ops::{matmul, rms_norm_groups, rope_partial, silu};
use hybrid_gpu::ops::attention::CacheLayout;
use hybrid_gpu::ops::matvec::{FusedNorm, Matvec};
use hybrid_gpu::ops::matvec_epilogue::{Epilogue, KvCache, RopeKvDims};
use hybrid_gpu::{run, WeightFormat};

/// Sums of up to a few thousand terms (of one output when N = 1, so the relative error
/// is that output's own), then GPU pow/sin/cos at positions < 200.
const TOL: f32 = 1e-4;

/// The decode matvec with the RMSNorm before it and SwiGLU after it fused in, against
/// the CPU's norm, matmul and SwiGLU: groups of the whole row and of heads, an x offset
/// (the last row of a chunk), accumulation; K past MAX_K (2048: x not staged).
#[test]
fn matvec_fused_norm_and_swiglu() {
    for g in devices() {
        let eps = 1e-5;
        for &(k, group) in &[
            (7, 7),
            (33, 33),
            (130, 13),
            (256, 256),
            (256, 32),
            (768, 768),
            (2500, 250),
        ] {
            // f32 at every N; 16-bit weights (two to a word: read in pairs where K is
            // even, one by one where it is odd) at one
            let runs = [1, 7, 130]
                .map(|n| (n, WeightFormat::F32))
                .into_iter()
                .chain([(33, WeightFormat::F16), (33, WeightFormat::BF16)]);
            for (n, format) in runs {
                for glu in [false, true] {
                    let rows = if glu { 2 * n } else { n };
                    let x = values(2 * k, 1);
                    let w: Vec<f32> = values(rows * k, 2)
                        .iter()
                        .map(|&v| format.round(v))
                        .collect();
                    let gw: Vec<f32> = values(k, 3).iter().map(|v| 1.0 + 0.5 * v).collect();
                    let y0 = values(n, 4);
                    // CPU: norm the second row of x, then the product (and the gate)
                    let mut xn = x[k..].to_vec();
                    rms_norm_groups(&mut xn, &gw, group, eps);
                    let prod = matmul(&xn, &w, k);
                    let v: Vec<f32> = if glu {
                        (0..n).map(|i| silu(prod[i]) * prod[n + i]).collect()
                    } else {
                        prod
                    };
                    let want: Vec<f32> = y0.iter().zip(&v).map(|(a, b)| a + 0.5 * b).collect();
                    let (bx, bw) = (up(g, &x), up_u32(g, &pack(&w, format)));
                    let (bg, by) = (up(g, &gw), up(g, &y0));
                    let mv = Matvec {
                        w_format: format,
                        x_off: k,
                        alpha: 0.5,
                        accumulate: true,
                        norm: Some(FusedNorm { group, eps }),
                        glu,
                        ..Matvec::new(n, k)
                    };
                    let d = mv.build(g, "mv", &bx, &bw, &bg, &by).expect("build");
                    run(g, "mv", &[d]).expect("run");
                    let e = rel_err(&down(g, &by, n), &want);
                    let f = format.name();
                    assert!(
                        e < TOL,
                        "matvec k={k} group={group} n={n} glu={glu} {f}: {e:e}"
                    );
                }
            }
        }
    }
}

/// `w` (already rounded to `format`) as the words the shaders read: f32 bits, or 16-bit
/// pairs, low half first.
fn pack(w: &[f32], format: WeightFormat) -> Vec<u32> {
    let bits = |v: f32| match format {
        WeightFormat::F16 => u32::from(half::f16::from_f32(v).to_bits()),
        _ => u32::from(half::bf16::from_f32(v).to_bits()),
    };
    match format {
        WeightFormat::F32 => w.iter().map(|v| v.to_bits()).collect(),
        _ => w
            .chunks(2)
            .map(|p| bits(p[0]) | p.get(1).map_or(0, |&v| bits(v)) << 16)
            .collect(),
    }
}

/// y = W norm(x), RoPE on its q and k heads at position 37, and k, v appended at the
/// cache slot of 37 (the other rows untouched): row 37 of a flat cache, row 7 of a ring
/// of 2 sinks + 6 (2 + 35 % 6), against the CPU.
#[test]
fn rope_and_kv_append_in_the_qkv_matvec() {
    for g in devices() {
        // (hq, hk, dh, dv, rot): full, partial, none; dh 6 and 66 cross the 8-row workgroups
        let cases = [
            (4, 2, 8, 8, 8),
            (4, 2, 16, 8, 8),
            (3, 1, 66, 66, 66),
            (2, 2, 6, 10, 6),
            (2, 1, 4, 4, 0),
        ];
        let pos0 = 37usize;
        let flat = CacheLayout {
            window: None,
            sinks: 0,
        };
        let ring = CacheLayout {
            window: Some(6),
            sinks: 2,
        };
        for (hq, hk, dh, dv, rot) in cases {
            for (k, norm, store, layout) in [
                (33, false, true, flat),
                (130, true, true, flat),
                (7, true, false, flat),
                (33, true, true, ring),
            ] {
                let (rows, slot) = match layout.window {
                    None => (40, pos0),
                    Some(_) => (layout.rows(40), 7),
                };
                let (qd, kd, vd) = (hq * dh, hk * dh, hk * dv);
                let n = qd + kd + vd;
                let x = values(k, 1);
                let w = values(n * k, 2);
                let gw = values(k, 3);
                let mut xn = x.clone();
                if norm {
                    rms_norm_groups(&mut xn, &gw, k, 1e-5);
                }
                let mut want = matmul(&xn, &w, k);
                rope_partial(&mut want[..qd], dh, rot, pos0, 10000.0);
                rope_partial(&mut want[qd..qd + kd], dh, rot, pos0, 10000.0);
                let (k0, v0) = (values(rows * kd, 4), values(rows * vd, 5));
                let (mut kw, mut vw) = (k0.clone(), v0.clone());
                if store {
                    kw[slot * kd..(slot + 1) * kd].copy_from_slice(&want[qd..qd + kd]);
                    vw[slot * vd..(slot + 1) * vd].copy_from_slice(&want[qd + kd..]);
                }
                let (bx, bw, bg) = (up(g, &x), up(g, &w), up(g, &gw));
                let (by, bk, bv) = (up(g, &vec![0.0; n]), up(g, &k0), up(g, &v0));
                let pos = up_u32(g, &[pos0 as u32, 0, 0, 0]);
                let mv = Matvec {
                    norm: norm.then_some(FusedNorm {
                        group: k,
                        eps: 1e-5,
                    }),
                    ..Matvec::new(n, k)
                };
                let ep = Epilogue::RopeKv {
                    dims: RopeKvDims {
                        n_heads: hq,
                        n_kv_heads: hk,
                        head_dim: dh,
                        v_head_dim: dv,
                        k_off: qd,
                        v_off: qd + kd,
                        rot,
                        theta: 10000.0,
                    },
                    pos: &pos,
                    cache: store.then_some(KvCache {
                        k: &bk,
                        v: &bv,
                        rows,
                        layout,
                    }),
                };
                let d = mv.build_with(g, "qkv", [&bx, &bw, &bg, &by], ep);
                run(g, "qkv", &[d.expect("build")]).expect("run");
                let what = format!(
                    "hq={hq} hk={hk} dh={dh} dv={dv} rot={rot} k={k} norm={norm} {layout:?}"
                );
                let e = rel_err(&down(g, &by, n), &want);
                assert!(e < TOL, "q|k|v {what}: {e:e}");
                let e = rel_err(&down(g, &bk, rows * kd), &kw);
                assert!(e < TOL, "K cache {what}: {e:e}");
                let e = rel_err(&down(g, &bv, rows * vd), &vw);
                assert!(e < TOL, "V cache {what}: {e:e}");
            }
        }
    }
}

/// Three tokens through in_proj + conv: each step's x|B|C output, the in_proj row and
/// the conv state against the CPU's causal conv over the three rows (zero history).
#[test]
fn conv_in_the_in_proj_matvec_over_three_tokens() {
    for g in devices() {
        // (E, C, H, width): C = E + 2GN channels after the E of z, then H of dt
        for (e, c, h, wd) in [(8, 24, 2, 4), (33, 47, 3, 3), (5, 9, 1, 1)] {
            let (n, k) = (e + c + h, 19);
            let w = values(n * k, 6);
            let (cw, cb) = (values(c * wd, 7), values(c, 8));
            let xs: Vec<Vec<f32>> = (0..3).map(|i| values(k, 10 + i)).collect();
            let ys: Vec<Vec<f32>> = xs.iter().map(|x| matmul(x, &w, k)).collect();
            let (bw, bcw, bcb) = (up(g, &w), up(g, &cw), up(g, &cb));
            let state = up(g, &vec![0.0; (wd - 1).max(1) * c]);
            let (by, bo) = (up(g, &vec![0.0; n]), up(g, &vec![0.0; c]));
            for (t, x) in xs.iter().enumerate() {
                let ep = Epilogue::Conv {
                    off: e,
                    channels: c,
                    width: wd,
                    w: &bcw,
                    b: &bcb,
                    state: &state,
                    out: &bo,
                };
                let bx = up(g, x);
                let d = Matvec::new(n, k).build_with(g, "in_proj", [&bx, &bw, &bw, &by], ep);
                run(g, "in_proj", &[d.expect("build")]).expect("run");
                let want: Vec<f32> = (0..c)
                    .map(|ch| {
                        let mut acc = cb[ch];
                        for j in 0..wd {
                            // tap j reads token t - (W - 1) + j
                            if let Some(r) = (t + j + 1).checked_sub(wd) {
                                acc += cw[ch * wd + j] * ys[r][e + ch];
                            }
                        }
                        silu(acc)
                    })
                    .collect();
                let what = format!("E={e} C={c} H={h} W={wd} token {t}");
                let err = rel_err(&down(g, &bo, c), &want);
                assert!(err < TOL, "x|B|C {what}: {err:e}");
                let err = rel_err(&down(g, &by, n), &ys[t]);
                assert!(err < TOL, "in_proj row {what}: {err:e}");
            }
            // the state holds the last W-1 rows of x|B|C, oldest first
            let want: Vec<f32> = (0..wd - 1)
                .flat_map(|j| {
                    let r = 3 + j + 1 - wd;
                    ys[r][e..e + c].to_vec()
                })
                .collect();
            if wd > 1 {
                let err = rel_err(&down(g, &state, (wd - 1) * c), &want);
                assert!(err < TOL, "conv state E={e} C={c} W={wd}: {err:e}");
            }
        }
    }
}

/// What an epilogue cannot do is an error, not a wrong result: on an accumulating
/// product, or with heads that exceed the row.
#[test]
fn epilogue_misuse_is_an_error() {
    for g in devices() {
        let b = up(g, &vec![0.0; 64]);
        let pos = up_u32(g, &[0, 0, 0, 0]);
        let dims = RopeKvDims {
            n_heads: 2,
            n_kv_heads: 1,
            head_dim: 4,
            v_head_dim: 4,
            k_off: 8,
            v_off: 12,
            rot: 4,
            theta: 10000.0,
        };
        let ep = Epilogue::RopeKv {
            dims,
            pos: &pos,
            cache: None,
        };
        let acc = Matvec {
            accumulate: true,
            ..Matvec::new(16, 4)
        };
        assert!(acc.build_with(g, "acc", [&b, &b, &b, &b], ep).is_err());
        let short = Matvec::new(14, 4);
        assert!(short.build_with(g, "short", [&b, &b, &b, &b], ep).is_err());
        assert!(Matvec::new(16, 4)
            .build_with(g, "ok", [&b, &b, &b, &b], ep)
            .is_ok());
    }
}

/// o_proj merging the split-K partials (Combine) against the CPU: y += 0.5 W merge(part),
/// merge as attention_combine: some splits neutral (m = -3e38, l = 0, o = 0), as the
/// shader writes them for slices past the visible keys.
#[test]
fn combine_in_the_o_proj_matvec() {
    for g in devices() {
        // (heads, dv, splits, N)
        for (h, dv, splits, n) in [
            (4, 8, 3, 7),
            (8, 32, 16, 33),
            (2, 66, 1, 5),
            (3, 10, 5, 130),
        ] {
            let k = h * dv;
            let stride = dv + 2;
            let mut part = values(h * splits * stride, 20);
            for hs in 0..h * splits {
                let row = &mut part[hs * stride..(hs + 1) * stride];
                if splits > 1 && hs % splits == splits - 1 {
                    row.fill(0.0);
                    row[dv] = -3.0e38;
                } else {
                    row[dv] *= 4.0; // m
                    row[dv + 1] += 1.5; // l > 0
                }
            }
            let merged: Vec<f32> = (0..k)
                .map(|i| {
                    let (hh, d) = (i / dv, i % dv);
                    let rows: Vec<&[f32]> = (0..splits)
                        .map(|j| &part[(hh * splits + j) * stride..][..stride])
                        .collect();
                    let m = rows.iter().map(|r| r[dv]).fold(f32::MIN, f32::max);
                    let e: Vec<f32> = rows.iter().map(|r| (r[dv] - m).exp()).collect();
                    let o: f32 = rows.iter().zip(&e).map(|(r, e)| e * r[d]).sum();
                    let l: f32 = rows.iter().zip(&e).map(|(r, e)| e * r[dv + 1]).sum();
                    o / l
                })
                .collect();
            let w = values(n * k, 21);
            let y0 = values(n, 22);
            let prod = matmul(&merged, &w, k);
            let want: Vec<f32> = y0.iter().zip(&prod).map(|(a, b)| a + 0.5 * b).collect();
            let (bp, bw, by) = (up(g, &part), up(g, &w), up(g, &y0));
            let mv = Matvec {
                alpha: 0.5,
                accumulate: true,
                ..Matvec::new(n, k)
            };
            let ep = Epilogue::Combine {
                part_dim: dv,
                splits,
            };
            let d = mv.build_with(g, "o_proj", [&bp, &bw, &bw, &by], ep);
            run(g, "o_proj", &[d.expect("build")]).expect("run");
            let e = rel_err(&down(g, &by, n), &want);
            assert!(
                e < TOL,
                "combine h={h} dv={dv} splits={splits} n={n}: {e:e}"
            );
        }
    }
}
