//! A branch-free `e^x` for the CPU engine's hot loops: libm's `expf` is a scalar call per
//! value (in wasm a software routine); [`exp`] is plain arithmetic and selects, so loops
//! over slices vectorize (SSE/AVX natively, SIMD128 in wasm). Used by the attention
//! softmax, SiLU, softplus and the SSD's decay matrices.

/// `e^x` within 2 ulp of `expf` for x in [-87, 88.7]; exactly 0 below -87 (so `exp(-inf)`
/// = 0, as a masked score needs), +inf above 88.72 (where `expf` overflows), NaN for NaN.
/// Cephes' `expf`: `x = n ln2 + r` with n rounded to nearest (|r| <= ln2 / 2), a degree-7
/// polynomial for `e^r`, `2^n` put in the exponent bits (n = 128 as `2 * 2^127`).
#[inline]
pub fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const MAX: f32 = 88.722_84; // ln(f32::MAX)
    let xc = x.clamp(-87.0, MAX);
    let t = xc * std::f32::consts::LOG2_E + ROUND; // its low mantissa bits hold n
    let n = t - ROUND; // in [-126, 128]
    let r = xc - n * 0.693_359_4 + n * 2.121_944_4e-4; // ln2 split into hi and lo
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // 2^min(n, 127): n + 127 into the exponent field, taken from t's bits (a float-to-int
    // conversion would not vectorize: Rust's `as` saturates)
    let biased = (t.to_bits().wrapping_add(127) & 0x1ff).min(254);
    let scale = f32::from_bits(biased << 23);
    let top = if n > 127.0 { 2.0 } else { 1.0 };
    if x < -87.0 {
        0.0
    } else if x > MAX {
        f32::INFINITY
    } else {
        e * scale * top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_2_ulp_of_expf_over_its_range() {
        let mut worst = 0f32;
        for i in 0..=1_757_000 {
            let x = -87.0 + i as f32 * 1e-4;
            let (got, want) = (exp(x), x.exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 2.5e-7, "worst relative error {worst:e}");
    }

    #[test]
    fn exp_at_the_edges() {
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        let top = exp(88.72);
        assert!(
            top.is_finite() && (top / 88.72f32.exp() - 1.0).abs() < 1e-6,
            "{top}"
        );
    }
}
