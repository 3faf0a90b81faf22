//! The intra block's pair (`Epilogue::Pair`, matvec_sg.wgsl): the q|k|v row with RoPE and
//! the append to a ring KV cache, and the in_proj row with conv + SiLU, in one dispatch,
//! equal bit for bit to the two matvecs run apart (each tested against the CPU in
//! gpu/tests/matvec.rs); and refused by the plain kernel (matvec.wgsl), where the planner
//! keeps the two dispatches; whole intra models decoded both ways.

mod common;

use common::{devices, down, fixture, fixture_names, rel_err, up, up_u32, values};
use hybrid_core::LayerKind;
use hybrid_gpu::ops::attention::CacheLayout;
use hybrid_gpu::ops::matvec::{kernel, FusedNorm, Matvec};
use hybrid_gpu::ops::matvec_epilogue::{Epilogue, KvCache, RopeKvDims};
use hybrid_gpu::{run, Gpu, GpuModel, Kernel, SessionOptions, WeightFormat};

/// Buffers of one run: caches, conv state and outputs start from the same values.
struct Outs {
    y1: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    y2: wgpu::Buffer,
    state: wgpu::Buffer,
    xbc: wgpu::Buffer,
}

fn outs(g: &Gpu, sizes: [usize; 6]) -> Outs {
    let [n1, kc, vc, n2, st, c] = sizes;
    Outs {
        y1: up(g, &vec![0.0; n1]),
        k: up(g, &values(kc, 4)),
        v: up(g, &values(vc, 5)),
        y2: up(g, &vec![0.0; n2]),
        state: up(g, &values(st, 6)),
        xbc: up(g, &vec![0.0; c]),
    }
}

/// The settings of the two epilogues: RoPE + KV append, and conv (off, channels, width,
/// weight, bias).
struct Case<'b> {
    dims: RopeKvDims,
    pos: &'b wgpu::Buffer,
    rows: usize,
    layout: CacheLayout,
    conv: (usize, usize, usize, &'b wgpu::Buffer, &'b wgpu::Buffer),
}

impl<'b> Case<'b> {
    /// The RopeKv and Conv epilogues writing into `o`.
    fn epilogues(&self, o: &'b Outs) -> (Epilogue<'b>, Epilogue<'b>) {
        let (off, channels, width, w, b) = self.conv;
        let rope = Epilogue::RopeKv {
            dims: self.dims,
            pos: self.pos,
            cache: Some(KvCache {
                k: &o.k,
                v: &o.v,
                rows: self.rows,
                layout: self.layout,
            }),
        };
        let conv = Epilogue::Conv {
            off,
            channels,
            width,
            w,
            b,
            state: &o.state,
            out: &o.xbc,
        };
        (rope, conv)
    }
}

fn read(g: &Gpu, o: &Outs, sizes: [usize; 6]) -> Vec<Vec<f32>> {
    let bufs = [&o.y1, &o.k, &o.v, &o.y2, &o.state, &o.xbc];
    bufs.iter().zip(sizes).map(|(b, n)| down(g, b, n)).collect()
}

#[test]
fn qkv_and_in_proj_in_one_matvec() {
    let Some(g) = devices().first() else { return };
    let g = &**g;
    let (hq, hk, dh, dv, rot) = (3, 1, 6, 10, 6); // 34 rows: crosses the 8-row workgroups
    let (e, c, h, wd) = (8, 24, 2, 4); // in_proj z | x|B|C | dt: 34 rows
    let (n1, n2, k) = (hq * dh + hk * dh + hk * dv, e + c + h, 33);
    let layout = CacheLayout {
        window: Some(6),
        sinks: 2,
    };
    let rows = layout.rows(40);
    let sizes = [n1, rows * hk * dh, rows * hk * dv, n2, (wd - 1) * c, c];
    let (x, gw) = (up(g, &values(k, 1)), up(g, &values(k, 2)));
    let (w1, w2) = (up(g, &values(n1 * k, 3)), up(g, &values(n2 * k, 7)));
    let (cw, cb) = (up(g, &values(c * wd, 8)), up(g, &values(c, 9)));
    let pos = up_u32(g, &[37, 0, 0, 0]);
    let dims = RopeKvDims {
        n_heads: hq,
        n_kv_heads: hk,
        head_dim: dh,
        v_head_dim: dv,
        k_off: hq * dh,
        v_off: (hq + hk) * dh,
        rot,
        theta: 10000.0,
    };
    let case = Case {
        dims,
        pos: &pos,
        rows,
        layout,
        conv: (e, c, wd, &cw, &cb),
    };
    let mv = |n| Matvec {
        norm: Some(FusedNorm {
            group: k,
            eps: 1e-5,
        }),
        ..Matvec::new(n, k)
    };
    // apart
    let a = outs(g, sizes);
    let (rope, conv) = case.epilogues(&a);
    let d1 = mv(n1).build_with(g, "qkv", [&x, &w1, &gw, &a.y1], rope);
    let d2 = mv(n2).build_with(g, "in_proj", [&x, &w2, &gw, &a.y2], conv);
    run(g, "apart", &[d1.expect("qkv"), d2.expect("in_proj")]).expect("run");
    // in one dispatch
    let p = outs(g, sizes);
    let (first, second) = case.epilogues(&p);
    let pair = Epilogue::Pair {
        first: &first,
        w2: &w2,
        y2: &p.y2,
        n2,
        second: &second,
    };
    let d = mv(n1).build_with(g, "pair", [&x, &w1, &gw, &p.y1], pair);
    if kernel(g) != Kernel::MatvecSg {
        assert!(d.is_err(), "the plain kernel must refuse the pair");
        panic!("no matvec_sg on this adapter (subgroups and 13 storage bindings): the pair is untested");
    }
    run(g, "pair", &[d.expect("pair")]).expect("run");
    let names = [
        "q|k|v row",
        "K cache",
        "V cache",
        "in_proj row",
        "conv state",
        "x|B|C",
    ];
    for ((name, got), want) in names.iter().zip(read(g, &p, sizes)).zip(read(g, &a, sizes)) {
        assert_eq!(got, want, "{name}: the pair differs from the two matvecs");
    }
}

/// The plain kernel (core WebGPU, as in the browser) refuses the pair: the planner keeps
/// the two dispatches there.
#[test]
fn the_plain_kernel_refuses_the_pair() {
    let Some(g) = devices().get(1) else { return };
    let g = &**g;
    assert_eq!(kernel(g), Kernel::Matvec);
    let b = up(g, &vec![0.0; 256]);
    let pos = up_u32(g, &[0, 0, 0, 0]);
    let first = Epilogue::RopeKv {
        dims: RopeKvDims {
            n_heads: 1,
            n_kv_heads: 1,
            head_dim: 4,
            v_head_dim: 4,
            k_off: 4,
            v_off: 8,
            rot: 4,
            theta: 10000.0,
        },
        pos: &pos,
        cache: None,
    };
    let second = Epilogue::Conv {
        off: 0,
        channels: 4,
        width: 2,
        w: &b,
        b: &b,
        state: &b,
        out: &b,
    };
    let pair = Epilogue::Pair {
        first: &first,
        w2: &b,
        y2: &b,
        n2: 4,
        second: &second,
    };
    let d = Matvec::new(12, 4).build_with(g, "pair", [&b, &b, &b, &b], pair);
    assert!(d.is_err(), "the plain kernel built the pair");
}

/// Whole intra models: decode steps with the pair (matvec_sg) against the two dispatches
/// (the plain kernel, as in the browser), every step's logits within 1e-5 relative (the
/// two kernels sum in different orders), and the pair's plan one dispatch shorter per
/// intra block.
#[test]
fn intra_decode_with_and_without_the_pair() {
    let [g, plain] = devices() else { return };
    for name in fixture_names().iter().filter(|n| n.starts_with("intra")) {
        let (model, tokens) = fixture(name);
        let opts = SessionOptions {
            max_context: 64,
            chunk: 16,
        };
        let mut steps = Vec::new();
        let mut counts = Vec::new();
        for dev in [g, plain] {
            let gm = GpuModel::with_format(dev.clone(), &model, WeightFormat::F32).expect("upload");
            let mut s = gm.session(opts).expect("session");
            counts.push(s.decode_dispatches().expect("plan").len());
            // every token a decode step
            let logits: Vec<f32> = tokens[..12]
                .iter()
                .flat_map(|&t| s.step_blocking(t).expect("step"))
                .collect();
            steps.push(logits);
        }
        let e = rel_err(&steps[0], &steps[1]);
        assert!(e < 1e-5, "{name}: pair vs two dispatches rel err {e:e}");
        let intra = model
            .config()
            .layers
            .iter()
            .filter(|k| **k == LayerKind::Intra)
            .count();
        assert_eq!(counts[0] + intra, counts[1], "{name}: dispatches per step");
        eprintln!(
            "{name}: {} vs {} dispatches per step, rel err {e:.1e}",
            counts[0], counts[1]
        );
    }
}
