//! Axis scales and ticks (linear and logarithmic) and number formatting with units.

/// A map from data values to pixels, linear or log10.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub px_lo: f64,
    pub px_hi: f64,
    pub log: bool,
}

impl Scale {
    /// A linear scale; an empty domain is widened so it never divides by zero.
    pub fn linear(lo: f64, hi: f64, px_lo: f64, px_hi: f64) -> Self {
        let (lo, hi) = widen(lo, hi, 1.0);
        Scale {
            lo,
            hi,
            px_lo,
            px_hi,
            log: false,
        }
    }

    /// A log10 scale over positive values (non-positive bounds are clamped to tiny ones).
    pub fn log(lo: f64, hi: f64, px_lo: f64, px_hi: f64) -> Self {
        let lo = if lo > 0.0 && lo.is_finite() {
            lo
        } else {
            1e-12
        };
        let hi = if hi > lo && hi.is_finite() {
            hi
        } else {
            lo * 10.0
        };
        Scale {
            lo,
            hi,
            px_lo,
            px_hi,
            log: true,
        }
    }

    /// Pixel of `v` (log scales clamp non-positive values to the low end).
    pub fn px(&self, v: f64) -> f64 {
        let f = if self.log {
            let v = v.max(self.lo * 1e-3);
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        self.px_lo + f * (self.px_hi - self.px_lo)
    }

    /// Tick values inside the domain: powers of ten (with 2 and 5 when there are few
    /// decades) on log scales, 1-2-5 steps on linear ones.
    pub fn ticks(&self) -> Vec<f64> {
        if self.log {
            let t = log_ticks(self.lo, self.hi);
            if t.len() >= 2 {
                t
            } else {
                linear_ticks(self.lo, self.hi, 4)
                    .into_iter()
                    .filter(|v| *v > 0.0)
                    .collect()
            }
        } else {
            linear_ticks(self.lo, self.hi, 5)
        }
    }
}

fn widen(lo: f64, hi: f64, by: f64) -> (f64, f64) {
    let (lo, hi) = (
        if lo.is_finite() { lo } else { 0.0 },
        if hi.is_finite() { hi } else { 1.0 },
    );
    if hi > lo {
        (lo, hi)
    } else {
        (lo - by / 2.0, lo + by / 2.0)
    }
}

/// About `n` ticks at 1, 2 or 5 times a power of ten.
pub fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = widen(lo, hi, 1.0);
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Log ticks between `lo` and `hi`.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo) {
        return Vec::new();
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    // 1-2-5 ticks up to four decades; beyond, one per decade (every other past eight)
    let mults: &[f64] = if b - a <= 4 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let step = if b - a > 8 { 2 } else { 1 };
    let mut out = Vec::new();
    let mut e = a;
    while e <= b {
        for m in mults {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
        e += step;
    }
    out
}

/// A short number: 3 significant digits, k/M/G suffixes for large values.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        return "–".into();
    }
    if a >= 1e9 {
        format!("{}G", trim(v / 1e9))
    } else if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else if a == 0.0 || a >= 0.01 {
        trim(v)
    } else {
        format!("{v:.1e}")
    }
}

fn trim(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// What an axis measures: its ticks share one unit, picked from the largest value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantity {
    /// Context lengths: plain counts, thousands as "k".
    Tokens,
    /// Milliseconds: ms, or s from 2 s up.
    Millis,
    /// Bytes: B, KiB, MiB or GiB.
    Bytes,
    /// Speeds in tokens per second.
    Rate,
    /// Losses in nats per token.
    Nats,
}

/// One unit for a whole axis: data values are divided by `factor` before they are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub factor: f64,
    /// Shown in the axis title ("MiB"); empty for plain counts.
    pub name: &'static str,
}

impl Quantity {
    /// The unit for an axis from `min` to `max` (positive, in data units): the largest
    /// unit in which `min` is still at least 0.05 (so log axes spanning decades keep
    /// readable small ticks: 0.1 MiB rather than 1e-4 GiB).
    pub fn unit(self, min: f64, max: f64) -> Unit {
        let max = if max.is_finite() { max.abs() } else { 0.0 };
        let min = if min.is_finite() && min > 0.0 {
            min.min(max)
        } else {
            max
        };
        match self {
            Quantity::Tokens => Unit {
                factor: 1.0,
                name: "",
            },
            Quantity::Millis if min >= 100.0 && max >= 2000.0 => Unit {
                factor: 1000.0,
                name: "s",
            },
            Quantity::Millis => Unit {
                factor: 1.0,
                name: "ms",
            },
            Quantity::Rate => Unit {
                factor: 1.0,
                name: "tokens/s",
            },
            Quantity::Nats => Unit {
                factor: 1.0,
                name: "nats",
            },
            Quantity::Bytes => {
                const NAMES: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
                let mut i = 0;
                while i + 1 < NAMES.len() && min >= 0.05 * 1024f64.powi(i as i32 + 1) {
                    i += 1;
                }
                Unit {
                    factor: 1024f64.powi(i as i32),
                    name: NAMES[i],
                }
            }
        }
    }

    /// A tick label (the value already divided by the unit's factor): no unit, which
    /// the axis title carries once.
    pub fn tick(self, v: f64) -> String {
        match self {
            Quantity::Tokens if v >= 1000.0 => format!("{}k", trim(v / 1000.0)),
            _ => fmt_num(v),
        }
    }
}

/// Bytes with a binary unit (B, KiB, MiB, GiB).
pub fn fmt_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v.abs() >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{} {}", trim(v), UNITS[u])
}

/// Milliseconds, switching to seconds from 1000 ms.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{} s", trim(ms / 1000.0))
    } else {
        format!("{} ms", fmt_num(ms))
    }
}

/// A token count (1024 -> "1K", 131072 -> "128K").
pub fn fmt_tokens(t: f64) -> String {
    if t >= 1024.0 && (t as u64).is_multiple_of(1024) {
        format!("{}K", t as u64 / 1024)
    } else {
        fmt_num(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_maps_decades_evenly() {
        let s = Scale::log(1.0, 1000.0, 0.0, 300.0);
        assert!((s.px(10.0) - 100.0).abs() < 1e-9);
        assert!((s.px(1000.0) - 300.0).abs() < 1e-9);
        assert!(s.px(0.0).is_finite());
        assert_eq!(
            s.ticks(),
            vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
        );
        assert_eq!(
            Scale::log(1.0, 1e6, 0.0, 300.0).ticks(),
            vec![1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6],
            "past four decades, one tick per decade"
        );
        assert_eq!(log_ticks(64.0, 400.0), vec![100.0, 200.0]);
        assert_eq!(
            log_ticks(50.0, 1100.0),
            vec![50.0, 100.0, 200.0, 500.0, 1000.0],
            "1-2-5 ticks over a few decades"
        );
        assert_eq!(log_ticks(1.0, 1e12).len(), 7);
        assert!(log_ticks(0.0, 1.0).is_empty());
        assert!(
            Scale::log(0.06, 0.09, 0.0, 1.0).ticks().len() >= 2,
            "narrow log range still gets ticks"
        );
    }

    #[test]
    fn linear_ticks_are_round() {
        assert_eq!(
            linear_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(linear_ticks(0.0, 100.0, 4), vec![0.0, 50.0, 100.0]);
        let s = Scale::linear(3.0, 3.0, 0.0, 10.0);
        assert!(s.px(3.0).is_finite());
    }

    #[test]
    fn one_unit_per_axis() {
        const MIB: f64 = 1024.0 * 1024.0;
        // 100 KiB to 3 GiB: MiB (ticks 0.1 .. 1000), not GiB (1e-4 .. 3)
        assert_eq!(
            Quantity::Bytes.unit(100.0 * 1024.0, 3072.0 * MIB).name,
            "MiB"
        );
        assert_eq!(Quantity::Bytes.unit(9.54 * MIB, 954.0 * MIB).name, "MiB");
        assert_eq!(Quantity::Bytes.unit(977.0 * 1024.0, 95.4 * MIB).factor, MIB);
        assert_eq!(
            Quantity::Bytes
                .unit(2.0 * 1024.0 * MIB, 3.0 * 1024.0 * MIB)
                .name,
            "GiB"
        );
        assert_eq!(Quantity::Bytes.unit(12.0, 800.0).name, "B");
        assert_eq!(Quantity::Millis.unit(20.0, 250.0).name, "ms");
        assert_eq!(Quantity::Millis.unit(500.0, 4000.0).factor, 1000.0);
        assert_eq!(Quantity::Millis.unit(5.0, 4000.0).name, "ms");
        assert_eq!(Quantity::Bytes.unit(f64::NAN, f64::NAN).name, "B");
        assert_eq!(Quantity::Tokens.tick(20000.0), "20k");
        assert_eq!(Quantity::Tokens.tick(500.0), "500");
        assert_eq!(Quantity::Millis.tick(0.5), "0.5");
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(1536.0), "1.5 KiB");
        assert_eq!(fmt_bytes(256.0 * 1024.0 * 1024.0), "256 MiB");
        assert_eq!(fmt_num(12345.0), "12.3k");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(2_500_000.0), "2.5M");
        assert_eq!(fmt_ms(2500.0), "2.5 s");
        assert_eq!(fmt_tokens(131072.0), "128K");
        assert_eq!(fmt_tokens(64.0), "64");
        assert_eq!(fmt_num(f64::NAN), "–");
    }
}
