//! The sampling controls: text fields parsed into [`SamplingParams`].

use crate::engine::SamplingParams;

/// Largest number of new tokens the page generates in one go (the CPU engine runs in a
/// worker and streams its text incrementally, so long runs stay flat: see
/// scripts/bench-page-memory.mjs).
pub const MAX_NEW_TOKENS_LIMIT: usize = 20_000;

/// The sampling form as the user typed it.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingForm {
    pub max_new_tokens: String,
    pub temperature: String,
    pub top_k: String,
    pub top_p: String,
    pub seed: String,
}

impl Default for SamplingForm {
    fn default() -> Self {
        SamplingForm {
            max_new_tokens: "64".into(),
            temperature: "0.8".into(),
            top_k: "40".into(),
            top_p: "0.95".into(),
            seed: "42".into(),
        }
    }
}

/// A validated form: how many tokens to make, and how to pick them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    pub max_new_tokens: usize,
    pub params: SamplingParams,
}

fn field<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{name}: {:?} is not a valid number", text.trim()))
}

impl SamplingForm {
    /// Checks every field; the error names the field and says what is allowed.
    pub fn parse(&self) -> Result<Sampling, String> {
        let max_new_tokens: usize = field("max new tokens", &self.max_new_tokens)?;
        if !(1..=MAX_NEW_TOKENS_LIMIT).contains(&max_new_tokens) {
            return Err(format!(
                "max new tokens must be between 1 and {MAX_NEW_TOKENS_LIMIT}"
            ));
        }
        let temperature: f32 = field("temperature", &self.temperature)?;
        if !(temperature.is_finite() && (0.0..=10.0).contains(&temperature)) {
            return Err("temperature must be between 0 (greedy) and 10".into());
        }
        let top_k: usize = field("top-k", &self.top_k)?;
        let top_p: f32 = field("top-p", &self.top_p)?;
        if !(top_p.is_finite() && top_p > 0.0 && top_p <= 1.0) {
            return Err("top-p must be in (0, 1] (1 = off)".into());
        }
        let seed: u64 = field("seed", &self.seed)?;
        Ok(Sampling {
            max_new_tokens,
            params: SamplingParams {
                temperature,
                top_k,
                top_p,
                seed,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_form_is_valid() {
        let s = SamplingForm::default().parse().unwrap();
        assert_eq!(s.max_new_tokens, 64);
        assert_eq!(s.params.top_k, 40);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |f: fn(&mut SamplingForm)| {
            let mut form = SamplingForm::default();
            f(&mut form);
            form.parse().unwrap_err()
        };
        assert!(bad(|f| f.max_new_tokens = "0".into()).contains("max new tokens"));
        assert!(bad(|f| f.max_new_tokens = "ten".into()).contains("max new tokens"));
        assert!(bad(|f| f.temperature = "-1".into()).contains("temperature"));
        assert!(bad(|f| f.temperature = "NaN".into()).contains("temperature"));
        assert!(bad(|f| f.top_k = "-3".into()).contains("top-k"));
        assert!(bad(|f| f.top_p = "0".into()).contains("top-p"));
        assert!(bad(|f| f.seed = "1.5".into()).contains("seed"));
    }

    #[test]
    fn greedy_is_allowed() {
        let form = SamplingForm {
            temperature: " 0 ".into(),
            ..SamplingForm::default()
        };
        assert_eq!(form.parse().unwrap().params.temperature, 0.0);
    }
}
