//! The tensor-core matmul (shaders/matmul_coop.wgsl) against the CPU reference, where the
//! device has cooperative matrices (`Caps::coop_f16`: the GPU machine, docs/bench); where
//! it has not (lavapipe, CI), the same checks run through the f32 kernel that
//! `Matmul::path` picks instead, and the test says so. `HYBRID_REQUIRE_COOP=1` turns that
//! fallback into a failure (the GPU-machine scripts set it).
//!
//! Tolerance: the kernel rounds x to f16 as it stages it (W is f16 already, the same
//! values on both sides) and accumulates in f32, so an output differs from the exact sum
//! by at most 2^-10 (f16's half-ulp is 2^-11; 2^-10 also covers a truncating conversion)
//! of sum_k |x_k w_k|, plus f32 rounding: `MATMUL_TOL` is 1.2e-3 of that sum.

mod common;

use common::{fixture, gpu, rel_err, up, up_u32, values};
use hybrid_core::ForwardOptions;
use hybrid_gpu::ops::matmul::{Matmul, COOP_MIN_ROWS};
use hybrid_gpu::{caps, run, Gpu, GpuModel, Kernel, SessionOptions, WeightFormat};

/// Of sum_k |x_k w_k|, per output.
const MATMUL_TOL: f64 = 1.2e-3;
/// Logits of the same f16-weight model through the tensor-core kernel vs the f32 kernel
/// (activations rounded to f16 in every projection), max |a - b| / max |b|.
const PATHS_TOL: f32 = 1e-2;
/// Those logits against the CPU engine's with the unrounded f32 weights.
const CPU_TOL: f32 = 2e-2;

/// The kernel an f16-weight product of `t` rows runs here; fails under
/// `HYBRID_REQUIRE_COOP=1` unless it is the tensor-core one.
fn expected_path(g: &Gpu, t: usize) -> Kernel {
    let mm = Matmul {
        w_format: WeightFormat::F16,
        ..Matmul::new(t, 64, 64)
    };
    let path = mm.path(g);
    if path != Kernel::MatmulCoop {
        assert!(
            !caps::coop_required(),
            "HYBRID_REQUIRE_COOP=1 but {} has no usable tensor cores [{}]",
            g.adapter_string(),
            g.caps.summary()
        );
        eprintln!(
            "no tensor cores on {} [{}]: checking the f32 kernel that runs instead",
            g.adapter_string(),
            g.caps.summary()
        );
    }
    path
}

/// `v` as packed f16 pairs (element 2i in the low half of word i).
fn pack_f16(v: &[f32]) -> Vec<u32> {
    let bits = |v: f32| u32::from(half::f16::from_f32(v).to_bits());
    v.chunks(2)
        .map(|p| bits(p[0]) | p.get(1).map_or(0, |&v| bits(v)) << 16)
        .collect()
}

/// One product: shape, sub-block offsets and strides, ACCUMULATE.
#[derive(Clone, Copy)]
struct Case {
    t: usize,
    n: usize,
    k: usize,
    /// Extra columns of x, w and y around the block (offset, then padding after it).
    x_pad: (usize, usize),
    w_pad: (usize, usize),
    y_pad: (usize, usize),
    /// Some(alpha): y += alpha x W^T.
    acc: Option<f32>,
}

const fn case(t: usize, n: usize, k: usize) -> Case {
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

/// `c` on the device against the f64 sum over the same f16 weights: the worst
/// |error| / (sum_k |x_k w_k|), or the elements out of bounds (and the columns and rows
/// around the block that did not keep their values).
fn check(g: &Gpu, c: Case, seed: u64) -> Result<f64, String> {
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
    run(
        g,
        "coop",
        &[mm.build(g, "coop", &bx, &bw, &by).expect("build")],
    )
    .expect("run");
    let got = common::down(g, &by, y0.len());
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
            let bound = MATMUL_TOL * alpha.abs() * mag + 1e-6 * (1.0 + base.abs());
            if err.is_nan() || err > bound {
                bad.push(format!(
                    "y[{t}, {j}] = {} vs {want:.6} (|err| {err:.2e} > {bound:.2e})",
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

/// The adapter's cooperative-matrix configurations, as Vulkan lists them (for the log).
fn print_coop_configs() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    if let Ok(a) = pollster::block_on(instance.request_adapter(&options)) {
        let configs = a.cooperative_matrix_properties();
        eprintln!(
            "{}: {} cooperative-matrix configurations",
            a.get_info().name,
            configs.len()
        );
        for c in configs {
            eprintln!("  {c:?}");
        }
    }
}

#[test]
fn coop_matmul_matches_the_cpu_reference() {
    let Some(g) = gpu() else { return };
    print_coop_configs();
    let path = expected_path(&g, COOP_MIN_ROWS);
    let cases = [
        // whole tiles
        case(128, 64, 64),
        // ragged in T, N and K (K not a multiple of 16)
        case(200, 100, 72),
        case(COOP_MIN_ROWS, 17, 37),
        case(300, 130, 9),
        // a long reduction
        case(130, 96, 2048),
        // sub-blocks: odd offsets into x, w (an odd f16 index) and y, accumulate
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
    ];
    // every case runs (and is printed) before the test fails on any
    let mut failed = Vec::new();
    for (i, &c) in cases.iter().enumerate() {
        let w = Matmul {
            w_format: WeightFormat::F16,
            ..Matmul::new(c.t, c.n, c.k)
        };
        assert_eq!(w.path(&g), path, "t={}: the same path as the probe", c.t);
        let shape = format!("t={} n={} k={} acc={:?}", c.t, c.n, c.k, c.acc);
        match check(&g, c, 10 + 3 * i as u64) {
            Ok(worst) => eprintln!(
                "{}: {shape}: worst |err| / sum|x w| = {worst:.2e} (bound {MATMUL_TOL:e})",
                path.name()
            ),
            Err(e) => {
                eprintln!("{}: {shape}: {e}", path.name());
                failed.push(shape);
            }
        }
    }
    assert!(failed.is_empty(), "{} wrong at {failed:?}", path.name());
    // below COOP_MIN_ROWS, and for f32 / bf16 weights, the f32 kernel
    let small = Matmul {
        w_format: WeightFormat::F16,
        ..Matmul::new(COOP_MIN_ROWS - 1, 64, 64)
    };
    assert_eq!(small.path(&g), Kernel::Matmul);
    for f in [WeightFormat::F32, WeightFormat::BF16] {
        let m = Matmul {
            w_format: f,
            ..Matmul::new(256, 64, 64)
        };
        assert_eq!(m.path(&g), Kernel::Matmul, "{f:?}");
    }
    if path == Kernel::MatmulCoop {
        throughput(&g);
    }
}

/// TFLOP/s of a prefill-sized product (4096 x 2048 x 2048) on each kernel: printed, never
/// asserted. The f32 kernel is timed with bf16 weights (the f16 ones take the tensor cores).
fn throughput(g: &Gpu) {
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
        common::down(g, &by, 1);
        let start = std::time::Instant::now();
        run(g, "timed", &ds).expect("run");
        common::down(g, &by, 1);
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

/// A trained fixture with f16 weight matrices: a 200-token prefill in chunks of 128 (the
/// tensor-core kernel where the device has it) against chunks of 32 (below
/// COOP_MIN_ROWS: the f32 kernel) and against the CPU engine; the greedy token at each
/// position equal to the CPU's wherever the CPU's best two logits are clearly apart.
#[test]
fn coop_prefill_matches_the_cpu_engine() {
    let Some(g) = gpu() else { return };
    let path = expected_path(&g, 128);
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
        "inter_1to3, f16 weights, 200 tokens: {} chunks vs f32-kernel chunks {e_paths:.2e}, \
         vs CPU {e_cpu:.2e} (f32 kernel vs CPU {e_narrow:.2e})",
        path.name()
    );
    assert!(e_paths < PATHS_TOL, "chunks of 128 vs 32: {e_paths:e}");
    assert!(e_cpu < CPU_TOL, "vs the CPU engine: {e_cpu:e}");
    let scale = cpu.iter().fold(0f32, |m, x| m.max(x.abs()));
    let mut compared = 0;
    for (p, (gpu_row, cpu_row)) in wide.chunks(v).zip(cpu.chunks(v)).enumerate() {
        let (best, margin) = top2(cpu_row);
        if margin > 2.0 * CPU_TOL * scale {
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
