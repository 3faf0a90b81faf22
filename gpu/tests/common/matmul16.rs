//! The checks shared by the 16-bit matmul kernels' tests (gpu/tests/coop.rs: tensor cores;
//! gpu/tests/matmul_f16.rs: f16 arithmetic): products of f16 weights against the f64 sum
//! with each kernel's stated bound, and a trained fixture's prefill against the CPU engine.

use hybrid_core::ForwardOptions;
use hybrid_gpu::ops::matmul::Matmul;
use hybrid_gpu::{run, Gpu, GpuModel, Kernel, SessionOptions, WeightFormat};

use super::{down, fixture, rel_err, up, up_u32, values};

/// The bound of `path` on |error| / (|alpha| sum_k |x_k w_k|) for a reduction of `k`:
/// - matmul_coop (x rounded to f16, f32 accumulation): at most 2^-10 (f16's half-ulp is
///   2^-11; 2^-10 also covers a truncating conversion) plus f32 rounding: 1.2e-3.
/// - matmul_f16 (f16 products summed in f16 over runs of 8, then f32; the bound of its
///   header): 9 * 2^-11 + (k / 8) 2^-24, with 1% for second-order terms.
/// - matmul (f32 arithmetic; the weights are the same f16 values on both sides): coop's.
pub fn rel_bound(path: Kernel, k: usize) -> f64 {
    match path {
        Kernel::MatmulF16 => 1.01 * (9.0 * 2f64.powi(-11) + (k as f64 / 8.0) * 2f64.powi(-24)),
        _ => 1.2e-3,
    }
}

/// The kernel an f16-weight product of `t` rows runs on `g`. Where it is not `want`: a
/// failure if `required` (the test's `HYBRID_REQUIRE_*` switch), else a line saying which
/// kernel is checked instead.
pub fn expected_path(g: &Gpu, t: usize, want: Kernel, required: bool) -> Kernel {
    let mm = Matmul {
        w_format: WeightFormat::F16,
        ..Matmul::new(t, 64, 64)
    };
    let path = mm.path(g);
    if path != want {
        let (a, caps) = (g.adapter_string(), g.caps.summary());
        assert!(
            !required,
            "{} required but {a} runs {} [{caps}]",
            want.name(),
            path.name()
        );
        eprintln!(
            "{} cannot run on {a} [{caps}]: checking the {} kernel that runs instead",
            want.name(),
            path.name()
        );
    }
    path
}

/// `v` as packed f16 pairs (element 2i in the low half of word i).
pub fn pack_f16(v: &[f32]) -> Vec<u32> {
    let bits = |v: f32| u32::from(half::f16::from_f32(v).to_bits());
    v.chunks(2)
        .map(|p| bits(p[0]) | p.get(1).map_or(0, |&v| bits(v)) << 16)
        .collect()
}

/// One product: shape, sub-block offsets and strides, ACCUMULATE.
#[derive(Clone, Copy)]
pub struct Case {
    pub t: usize,
    pub n: usize,
    pub k: usize,
    /// Extra columns of x, w and y around the block (offset, then padding after it).
    pub x_pad: (usize, usize),
    pub w_pad: (usize, usize),
    pub y_pad: (usize, usize),
    /// Some(alpha): y += alpha x W^T.
    pub acc: Option<f32>,
}

pub const fn case(t: usize, n: usize, k: usize) -> Case {
    Case {
        t,
        n,
        k,
        x_pad: (0, 0),
        w_pad: (0, 0),
        y_pad: (0, 0),
        acc: None,
    }
}

/// Shapes off the tiles for a kernel that runs from `min_rows` rows: whole tiles, ragged
/// T, N and K (K not a multiple of 16), a long reduction, and sub-blocks at odd offsets
/// into x, w (an odd f16 index) and y with ACCUMULATE.
pub fn cases(min_rows: usize) -> Vec<Case> {
    vec![
        case(128, 64, 64),
        case(200, 100, 72),
        case(min_rows, 17, 37),
        case(300, 130, 9),
        case(130, 96, 2048),
        Case {
            x_pad: (3, 5),
            w_pad: (1, 2),
            y_pad: (2, 7),
            acc: Some(-0.5),
            ..case(150, 70, 100)
        },
        Case {
            w_pad: (7, 0),
            acc: Some(1.0),
            ..case(256, 192, 160)
        },
    ]
}

/// Each of `cases` on `g` (every one asserted to run `path`), printed, then the test
/// fails on any out of bounds.
pub fn check_cases(g: &Gpu, path: Kernel, cases: &[Case]) {
    let mut failed = Vec::new();
    for (i, &c) in cases.iter().enumerate() {
        let w = Matmul {
            w_format: WeightFormat::F16,
            ..Matmul::new(c.t, c.n, c.k)
        };
        assert_eq!(w.path(g), path, "t={}: the path under test", c.t);
        let shape = format!("t={} n={} k={} acc={:?}", c.t, c.n, c.k, c.acc);
        let bound = rel_bound(path, c.k);
        match check(g, c, 10 + 3 * i as u64, bound) {
            Ok(worst) => eprintln!(
                "{}: {shape}: worst |err| / sum|x w| = {worst:.2e} (bound {bound:.2e})",
                path.name()
            ),
            Err(e) => {
                eprintln!("{}: {shape}: {e}", path.name());
                failed.push(shape);
            }
        }
    }
    assert!(failed.is_empty(), "{} wrong at {failed:?}", path.name());
}

/// `c` on the device against the f64 sum over the same f16 weights: the worst
/// |error| / (sum_k |x_k w_k|), or the elements out of `bound` (relative to that sum,
/// plus 2^-24 per term for f16 subnormals and 1e-6 for the f32 epilogue) and the
/// columns and rows around the block that did not keep their values.
fn check(g: &Gpu, c: Case, seed: u64, bound: f64) -> Result<f64, String> {
    let (xs, ws, ys) = (
        c.x_pad.0 + c.k + c.x_pad.1,
        c.w_pad.0 + c.k + c.w_pad.1,
        c.y_pad.0 + c.n + c.y_pad.1,
    );
    let x = values(c.t * xs, seed);
    let w: Vec<f32> = values(c.n * ws, seed + 1)
        .into_iter()
        .map(|v| WeightFormat::F16.round(v))
        .collect();
    // one spare row of y past T: it must keep its value too
    let y0 = values((c.t + 1) * ys, seed + 2);
    let (bx, bw, by) = (up(g, &x), up_u32(g, &pack_f16(&w)), up(g, &y0));
    let mm = Matmul {
        x_stride: xs,
        x_off: c.x_pad.0,
        w_stride: ws,
        w_off: c.w_pad.0,
        y_stride: ys,
        y_off: c.y_pad.0,
        w_format: WeightFormat::F16,
        ..Matmul::new(c.t, c.n, c.k)
    };
    let mm = match c.acc {
        Some(a) => mm.accumulate(a),
        None => mm,
    };
    let d = mm.build(g, "matmul16", &bx, &bw, &by).expect("build");
    run(g, "matmul16", &[d]).expect("run");
    let got = down(g, &by, y0.len());
    let alpha = f64::from(c.acc.unwrap_or(1.0));
    let mut worst = 0f64;
    let mut bad = Vec::new();
    for t in 0..=c.t {
        for j in 0..ys {
            let i = t * ys + j;
            let inside = t < c.t && (c.y_pad.0..c.y_pad.0 + c.n).contains(&j);
            if !inside {
                if got[i] != y0[i] {
                    bad.push(format!("y[{t}, {j}] outside the block changed"));
                }
                continue;
            }
            let n = j - c.y_pad.0;
            let (xr, wr) = (
                &x[t * xs + c.x_pad.0..][..c.k],
                &w[n * ws + c.w_pad.0..][..c.k],
            );
            let (dot, mag) = xr.iter().zip(wr).fold((0f64, 0f64), |(d, m), (&a, &b)| {
                let p = f64::from(a) * f64::from(b);
                (d + p, m + p.abs())
            });
            let base = if c.acc.is_some() {
                f64::from(y0[i])
            } else {
                0.0
            };
            let want = base + alpha * dot;
            let err = (f64::from(got[i]) - want).abs();
            let tiny = c.k as f64 * 2f64.powi(-24);
            let limit = alpha.abs() * (bound * mag + tiny) + 1e-6 * (1.0 + base.abs());
            if err.is_nan() || err > limit {
                bad.push(format!(
                    "y[{t}, {j}] = {} vs {want:.6} (|err| {err:.2e} > {limit:.2e})",
                    got[i]
                ));
            }
            worst = worst.max(err / (alpha.abs() * mag).max(1e-30));
        }
    }
    if bad.is_empty() {
        Ok(worst)
    } else {
        Err(format!(
            "{} wrong of {}, first: {}",
            bad.len(),
            got.len(),
            bad[..bad.len().min(4)].join("; ")
        ))
    }
}

/// TFLOP/s of a prefill-sized product (4096 x 2048 x 2048) on each kernel: printed, never
/// asserted. The f32 kernel is timed with bf16 weights (the f16 ones take the 16-bit kernel
/// of `Matmul::path`).
pub fn throughput(g: &Gpu) {
    let (t, n, k) = (4096, 2048, 2048);
    let bx = up(g, &values(t * k, 1));
    let bw = up_u32(g, &pack_f16(&values(n * k, 2)));
    let by = up(g, &vec![0.0; t * n]);
    for f in [WeightFormat::F16, WeightFormat::BF16] {
        let mm = Matmul {
            w_format: f,
            ..Matmul::new(t, n, k)
        };
        let reps = 20;
        let ds: Vec<_> = (0..reps)
            .map(|_| mm.build(g, "tflops", &bx, &bw, &by).expect("build"))
            .collect();
        run(g, "warm-up", &ds[..1]).expect("run");
        down(g, &by, 1);
        let start = std::time::Instant::now();
        run(g, "timed", &ds).expect("run");
        down(g, &by, 1);
        let s = start.elapsed().as_secs_f64() / reps as f64;
        eprintln!(
            "{} ({} weights) {t}x{n}x{k}: {:.3} ms, {:.1} TFLOP/s",
            mm.path(g).name(),
            f.name(),
            s * 1e3,
            2.0 * (t * n * k) as f64 / s / 1e12
        );
    }
}

/// A trained fixture (inter_1to3) with f16 weight matrices: a 200-token prefill in chunks
/// of 128 (`path`, the 16-bit kernel under test) against chunks of 32 (below its minimum
/// rows: the f32 kernel), within `paths_tol`, and against the CPU engine with the
/// unrounded f32 weights, within `cpu_tol` (max |a - b| / max |b|); the greedy token at
/// each position equal to the CPU's wherever the CPU's best two logits are more than
/// 2 `cpu_tol` max|logit| apart.
pub fn check_fixture_prefill(g: &std::sync::Arc<Gpu>, path: Kernel, paths_tol: f32, cpu_tol: f32) {
    let (model, _) = fixture("inter_1to3");
    let v = model.config().vocab_size;
    let tokens: Vec<u32> = (0..200).map(|i| ((i * 31 + 7) % v) as u32).collect();
    let gm = GpuModel::with_format(g.clone(), &model, WeightFormat::F16).expect("upload");
    let logits = |chunk: usize| {
        let opts = SessionOptions {
            max_context: 256,
            chunk,
        };
        let mut s = gm.session(opts).expect("session");
        s.prefill_all_blocking(&tokens).expect("prefill")
    };
    let (wide, narrow) = (logits(128), logits(32));
    let all = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let cpu = (model.forward(&mut model.new_state(), &tokens, all))
        .expect("cpu forward")
        .logits;
    let e_paths = rel_err(&wide, &narrow);
    let e_cpu = rel_err(&wide, &cpu);
    let e_narrow = rel_err(&narrow, &cpu);
    eprintln!(
        "inter_1to3, f16 weights, 200 tokens: {} chunks vs f32-kernel chunks {e_paths:.2e} \
         (bound {paths_tol:e}), vs CPU {e_cpu:.2e} (bound {cpu_tol:e}; f32 kernel vs CPU \
         {e_narrow:.2e})",
        path.name()
    );
    assert!(e_paths < paths_tol, "chunks of 128 vs 32: {e_paths:e}");
    assert!(e_cpu < cpu_tol, "vs the CPU engine: {e_cpu:e}");
    let scale = cpu.iter().fold(0f32, |m, x| m.max(x.abs()));
    let mut compared = 0;
    for (p, (gpu_row, cpu_row)) in wide.chunks(v).zip(cpu.chunks(v)).enumerate() {
        let (best, margin) = top2(cpu_row);
        if margin > 2.0 * cpu_tol * scale {
            compared += 1;
            assert_eq!(top2(gpu_row).0, best, "greedy token at position {p}");
        }
    }
    eprintln!("greedy tokens equal at the {compared} of 200 positions with a clear best");
    assert!(compared > 0, "no position had a clear best token");
}

/// (argmax, best - second best).
fn top2(row: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &x) in row.iter().enumerate() {
        if x > best.1 {
            second = best.1;
            best = (i, x);
        } else if x > second {
            second = x;
        }
    }
    (best.0, best.1 - second)
}
