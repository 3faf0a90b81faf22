//! Sampling: greedy, temperature, top-k, top-p, driven by a seeded SplitMix64 so the same
//! seed gives the same tokens on every backend and platform.

use serde::{Deserialize, Serialize};

/// Sampling settings. `temperature <= 0` is greedy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    pub temperature: f32,
    /// Keep the k most likely tokens; 0 = off.
    pub top_k: usize,
    /// Keep the smallest set whose probability reaches p; 1.0 = off.
    pub top_p: f32,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            seed: 0,
        }
    }
}

impl SamplingParams {
    /// Most tokens `top_k` may keep (above the largest vocabulary of docs/FORMAT.md's limits
    /// it would mean nothing).
    pub const MAX_TOP_K: usize = crate::config::Limits::VOCAB;

    /// Refuse settings that would sample something other than what they say: a NaN,
    /// infinite or negative temperature, a top-p outside (0, 1], an absurd top-k.
    /// The error names the setting and its allowed range.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Sampling(m));
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return bad(format!(
                "temperature = {} must be a finite number >= 0 (0 = greedy)",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!(
                "top_p = {} must be in (0, 1] (1 = off)",
                self.top_p
            ));
        }
        if self.top_k > Self::MAX_TOP_K {
            return bad(format!(
                "top_k = {} is over {} (0 = off)",
                self.top_k,
                Self::MAX_TOP_K
            ));
        }
        Ok(())
    }

    /// Greedy decoding.
    pub fn greedy() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

/// SplitMix64: tiny, fast, and identical everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 24 bits of precision (exact in f32).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Draws tokens from logits.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: SamplingParams,
    rng: Rng,
}

/// Index of the largest value; the lowest index wins ties; NaN never wins.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, &v) in logits.iter().enumerate() {
        if v > best_v {
            best = i;
            best_v = v;
        }
    }
    best as u32
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        Sampler {
            params,
            rng: Rng::new(params.seed),
        }
    }

    pub fn params(&self) -> SamplingParams {
        self.params
    }

    /// Pick the next token from `logits` [V].
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let p = self.params;
        if self.greedy() || logits.is_empty() {
            return argmax(logits);
        }
        // candidates sorted by logit, descending; ties by id
        let mut idx: Vec<u32> = (0..logits.len() as u32)
            .filter(|&i| logits[i as usize].is_finite())
            .collect();
        if idx.is_empty() {
            return 0;
        }
        idx.sort_by(|&a, &b| {
            logits[b as usize]
                .total_cmp(&logits[a as usize])
                .then(a.cmp(&b))
        });
        if p.top_k > 0 {
            idx.truncate(p.top_k);
        }
        let top: Vec<(u32, f32)> = idx.iter().map(|&i| (i, logits[i as usize])).collect();
        self.draw(&top)
    }

    /// What [`Sampler::sample`] reads of a row of logits, for an engine that keeps the
    /// row on its device and sends back only that.
    pub fn needs(&self) -> Needs {
        match self.params.top_k {
            _ if self.greedy() => Needs::Argmax,
            0 => Needs::All,
            k => Needs::Top(k),
        }
    }

    /// Pick the next token from the candidates [`Needs::Top`] asks for: the (at most)
    /// `top_k` largest finite logits of the row as (id, logit), by logit descending, ties
    /// to the lowest id. The same token as [`Sampler::sample`] on the whole row, from the
    /// same random draw (the same floats in the same order). Greedy takes the first.
    pub fn sample_top(&mut self, top: &[(u32, f32)]) -> u32 {
        let k = match self.params.top_k {
            0 => top.len(),
            k => k.min(top.len()),
        };
        match top.first() {
            None => 0,
            Some(&(id, _)) if self.greedy() => id,
            Some(_) => self.draw(&top[..k]),
        }
    }

    fn greedy(&self) -> bool {
        let t = self.params.temperature;
        t.is_nan() || t <= 0.0
    }

    /// Draw from sorted, non-empty candidates: softmax at the temperature, top-p cut.
    fn draw(&mut self, top: &[(u32, f32)]) -> u32 {
        let p = self.params;
        let m = top[0].1;
        let mut probs: Vec<f32> = top
            .iter()
            .map(|&(_, l)| ((l - m) / p.temperature).exp())
            .collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|q| *q /= sum);
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, q) in probs.iter().enumerate() {
                acc += q;
                if acc >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
        }
        let total: f32 = probs.iter().sum();
        let mut u = self.rng.next_f32() * total;
        for (q, &(i, _)) in probs.iter().zip(top) {
            if u < *q {
                return i;
            }
            u -= q;
        }
        top[probs.len() - 1].0
    }
}

/// What a [`Sampler`] needs of a row of logits ([`Sampler::needs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Greedy: the index of the largest logit ([`argmax`]).
    Argmax,
    /// The k largest finite logits with their ids, sorted ([`Sampler::sample_top`]).
    Top(usize),
    /// The whole row (temperature sampling without top-k).
    All,
}

#[cfg(test)]
mod tests {
    #[test]
    fn invalid_settings_are_named() {
        use super::SamplingParams;
        let ok = SamplingParams::default();
        assert!(ok.validate().is_ok());
        assert!(SamplingParams::greedy().validate().is_ok());
        for (p, key) in [
            (
                SamplingParams {
                    temperature: f32::NAN,
                    ..ok
                },
                "temperature",
            ),
            (
                SamplingParams {
                    temperature: -1.0,
                    ..ok
                },
                "temperature",
            ),
            (
                SamplingParams {
                    temperature: f32::INFINITY,
                    ..ok
                },
                "temperature",
            ),
            (SamplingParams { top_p: 0.0, ..ok }, "top_p"),
            (SamplingParams { top_p: 1.5, ..ok }, "top_p"),
            (
                SamplingParams {
                    top_p: f32::NAN,
                    ..ok
                },
                "top_p",
            ),
            (
                SamplingParams {
                    top_k: usize::MAX,
                    ..ok
                },
                "top_k",
            ),
        ] {
            let e = p.validate().expect_err("invalid").to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    use super::*;

    #[test]
    fn greedy_takes_argmax_lowest_on_ties() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&[0.1, 2.0, 2.0, -1.0]), 1);
        assert_eq!(argmax(&[f32::NAN, 1.0]), 1);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_respects_top_k() {
        let logits: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 3,
            top_p: 1.0,
            seed: 7,
        };
        let draw = |params| {
            let mut s = Sampler::new(params);
            (0..200).map(|_| s.sample(&logits)).collect::<Vec<_>>()
        };
        let a = draw(params);
        assert_eq!(a, draw(params));
        let mut top3: Vec<u32> = (0..50).collect();
        top3.sort_by(|&x, &y| logits[y as usize].total_cmp(&logits[x as usize]));
        assert!(a.iter().all(|t| top3[..3].contains(t)));
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert_eq!(
            distinct.len(),
            3,
            "all three candidates are drawn in 200 tries"
        );
        assert_ne!(a, draw(SamplingParams { seed: 8, ..params }));
    }

    #[test]
    fn sampling_from_the_top_candidates_equals_sampling_from_the_row() {
        // ties (ids 3, 9 and 40 share a logit) and non-finite logits included
        let mut logits: Vec<f32> = (0..64).map(|i| (i as f32 * 0.91).cos() * 3.0).collect();
        (logits[9], logits[40]) = (logits[3], logits[3]);
        (logits[5], logits[6]) = (f32::NAN, f32::INFINITY);
        for (top_k, top_p, temperature) in [(5, 1.0, 0.7), (12, 0.6, 1.3), (64, 0.9, 1.0)] {
            let params = SamplingParams {
                temperature,
                top_k,
                top_p,
                seed: 11,
            };
            let (mut a, mut b) = (Sampler::new(params), Sampler::new(params));
            assert_eq!(a.needs(), Needs::Top(top_k));
            let mut top: Vec<(u32, f32)> = (0..64u32)
                .filter(|&i| logits[i as usize].is_finite())
                .map(|i| (i, logits[i as usize]))
                .collect();
            top.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            top.truncate(top_k);
            let full: Vec<u32> = (0..300).map(|_| a.sample(&logits)).collect();
            let cands: Vec<u32> = (0..300).map(|_| b.sample_top(&top)).collect();
            assert_eq!(full, cands, "top_k {top_k}");
        }
        assert_eq!(
            Sampler::new(SamplingParams::greedy()).needs(),
            Needs::Argmax
        );
        let all = SamplingParams {
            top_k: 0,
            ..SamplingParams::default()
        };
        assert_eq!(Sampler::new(all).needs(), Needs::All);
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // probabilities ~ [0.64, 0.24, 0.09, 0.03]: p = 0.8 keeps two tokens
        let logits = [3.0f32, 2.0, 1.0, 0.0];
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.8,
            seed: 1,
        });
        let draws: Vec<u32> = (0..300).map(|_| s.sample(&logits)).collect();
        assert!(draws.iter().all(|&t| t < 2) && draws.contains(&1));
    }

    #[test]
    fn rng_matches_reference_splitmix64() {
        // First output of SplitMix64 seeded with 0 (reference value).
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }
}
