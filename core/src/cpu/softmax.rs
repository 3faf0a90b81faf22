//! The attention softmax, with its own `exp`: libm's `expf` is a scalar call per score
//! (in wasm a software routine), and causal attention over 2,048 tokens takes ~134M of
//! them per prefill; [`exp_nonpos`] is branch-free arithmetic that vectorizes (SSE/AVX
//! natively, SIMD128 in wasm).

/// `e^x` for `x <= 0` (softmax arguments, `x - max`), within 2 ulp of `expf`; exactly 0
/// below -87.3 (so `exp(-inf)` = 0, as a masked score needs). Cephes' `expf`: `x = n ln2 + r`
/// with n rounded to nearest (|r| <= ln2 / 2), a degree-7 polynomial for `e^r`, `2^n` put
/// in the exponent bits.
#[inline]
pub fn exp_nonpos(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = x.max(-87.0);
    let n = (xc * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = xc - n * 0.693_359_4 + n * 2.121_944_4e-4; // ln2 split into hi and lo
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23); // 2^n, n in [-126, 0]
    if x < -87.0 {
        0.0
    } else {
        e * scale
    }
}

/// In-place softmax of one row (at least one finite value).
pub fn softmax(row: &mut [f32]) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut s = 0.0;
    for v in row.iter_mut() {
        *v = exp_nonpos(*v - m);
        s += *v;
    }
    let inv = 1.0 / s;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpos_is_within_2_ulp_of_expf_and_zero_for_masked() {
        let mut worst = 0f32;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4;
            let (got, want) = (exp_nonpos(x), x.exp());
            worst = worst.max((got - want).abs() / want.max(f32::MIN_POSITIVE));
        }
        assert!(worst < 2.5e-7, "worst relative error {worst:e}");
        assert_eq!(exp_nonpos(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(-100.0), 0.0);
        assert_eq!(exp_nonpos(0.0), 1.0);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut s = [1.0, 2.0, 3.0, f32::NEG_INFINITY];
        softmax(&mut s);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6 && s[2] > s[1] && s[3] == 0.0);
        let want = 1.0 / (1.0 + (-1f32).exp() + (-2f32).exp());
        assert!((s[2] - want).abs() < 1e-6);
    }
}
