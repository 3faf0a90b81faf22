//! Mean ± sd over seeds: the one statistic every figure and table of the paper views shows.

/// Mean, sample standard deviation and count of a set of runs' values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub mean: f64,
    /// `None` for a single run.
    pub sd: Option<f64>,
    pub n: usize,
}

impl Stat {
    /// Of the finite values; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Self> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = (n > 1).then(|| {
            let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        Some(Stat { mean, sd, n })
    }

    /// "3.618 (n = 1)" or "98.3 ± 1.5 (n = 3)", values multiplied by `scale`.
    pub fn text(&self, scale: f64, decimals: usize) -> String {
        let m = self.mean * scale;
        match self.sd {
            Some(sd) => format!(
                "{m:.decimals$} ± {:.decimals$} (n = {})",
                sd * scale,
                self.n
            ),
            None => format!("{m:.decimals$} (n = {})", self.n),
        }
    }
}
