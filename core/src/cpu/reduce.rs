//! Reductions over slices with 8 independent lanes, so that they vectorize (x86 SIMD,
//! wasm SIMD128): dot product, sum, max.

/// Dot product with 8 independent accumulators (vectorizes on x86 and wasm simd128).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = lanes_sum(acc);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// The largest value (-inf for none), 8 lanes at a time: `f32::max` is a libm call
/// (`fmaxf`) per value in wasm, a compare-and-select vectorizes.
pub fn max(x: &[f32]) -> f32 {
    let bigger = |a: f32, b: f32| if b > a { b } else { a };
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| bigger(m, v));
    for v in chunks {
        for i in 0..8 {
            acc[i] = bigger(acc[i], v[i]);
        }
    }
    acc.into_iter().fold(rest, bigger)
}

/// Sum with 8 independent accumulators (vectorizes, as [`dot`]).
pub fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks.remainder().iter().sum();
    for v in chunks {
        for i in 0..8 {
            acc[i] += v[i];
        }
    }
    lanes_sum(acc) + rest
}

/// The 8 lanes of [`dot`] and [`sum`] added pairwise.
fn lanes_sum(acc: [f32; 8]) -> f32 {
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}
