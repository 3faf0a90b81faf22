//! Color scales as small tables: viridis (perceptually uniform, sequential) for weights and
//! norms, and a blue-white-red diverging scale for signed values. Colors between two
//! table entries are interpolated linearly.

/// Viridis (matplotlib), 9 evenly spaced stops from 0 (dark purple) to 1 (yellow).
pub const VIRIDIS: [[u8; 3]; 9] = [
    [0x44, 0x01, 0x54],
    [0x47, 0x2d, 0x7b],
    [0x3b, 0x52, 0x8b],
    [0x2c, 0x72, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x28, 0xae, 0x80],
    [0x5e, 0xc9, 0x62],
    [0xad, 0xdc, 0x30],
    [0xfd, 0xe7, 0x25],
];

/// Blue (negative) - near white (zero) - red (positive), 9 stops (ColorBrewer RdBu, reversed).
pub const DIVERGING: [[u8; 3]; 9] = [
    [0x21, 0x66, 0xac],
    [0x43, 0x93, 0xc3],
    [0x92, 0xc5, 0xde],
    [0xd1, 0xe5, 0xf0],
    [0xf7, 0xf7, 0xf7],
    [0xfd, 0xdb, 0xc7],
    [0xf4, 0xa5, 0x82],
    [0xd6, 0x60, 0x4d],
    [0xb2, 0x18, 0x2b],
];

/// The color at `t` in [0, 1] of a table (clamped; NaN maps to 0).
pub fn lookup(table: &[[u8; 3]], t: f32) -> [u8; 3] {
    let Some(last) = table.len().checked_sub(1) else {
        return [0, 0, 0];
    };
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let x = t * last as f32;
    let i = (x.floor() as usize).min(last);
    let j = (i + 1).min(last);
    let f = x - i as f32;
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * f).round() as u8;
    [
        mix(table[i][0], table[j][0]),
        mix(table[i][1], table[j][1]),
        mix(table[i][2], table[j][2]),
    ]
}

/// How values map to colors.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorScale {
    /// Viridis over [0, max].
    Sequential { max: f32 },
    /// Diverging over [-max, max], white at 0.
    Diverging { max: f32 },
}

impl ColorScale {
    /// Position of `v` on the scale, in [0, 1].
    pub fn position(&self, v: f32) -> f32 {
        match *self {
            ColorScale::Sequential { max } if max > 0.0 => v / max,
            ColorScale::Sequential { .. } => 0.0,
            ColorScale::Diverging { max } if max > 0.0 => 0.5 + 0.5 * v / max,
            ColorScale::Diverging { .. } => 0.5,
        }
    }

    /// Color of `v`.
    pub fn color(&self, v: f32) -> [u8; 3] {
        let table: &[[u8; 3]] = match self {
            ColorScale::Sequential { .. } => &VIRIDIS,
            ColorScale::Diverging { .. } => &DIVERGING,
        };
        lookup(table, self.position(v))
    }

    /// Smallest and largest value of the scale.
    pub fn domain(&self) -> (f32, f32) {
        match *self {
            ColorScale::Sequential { max } => (0.0, max),
            ColorScale::Diverging { max } => (-max, max),
        }
    }

    /// `n` evenly spaced (value, color) pairs for a legend, low to high.
    pub fn legend(&self, n: usize) -> Vec<(f32, [u8; 3])> {
        let (lo, hi) = self.domain();
        let n = n.max(2);
        (0..n)
            .map(|i| {
                let v = lo + (hi - lo) * i as f32 / (n - 1) as f32;
                (v, self.color(v))
            })
            .collect()
    }
}

/// `#rrggbb` of a color.
pub fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle() {
        assert_eq!(lookup(&VIRIDIS, 0.0), VIRIDIS[0]);
        assert_eq!(lookup(&VIRIDIS, 1.0), VIRIDIS[8]);
        assert_eq!(lookup(&VIRIDIS, 0.5), VIRIDIS[4]);
        assert_eq!(lookup(&VIRIDIS, -3.0), VIRIDIS[0]);
        assert_eq!(lookup(&VIRIDIS, 7.0), VIRIDIS[8]);
        assert_eq!(lookup(&VIRIDIS, f32::NAN), VIRIDIS[0]);
        assert_eq!(lookup(&[], 0.5), [0, 0, 0]);
    }

    #[test]
    fn viridis_gets_brighter() {
        // Perceptual lightness proxy: luma rises monotonically along the scale.
        let luma = |c: [u8; 3]| 0.2126 * c[0] as f32 + 0.7152 * c[1] as f32 + 0.0722 * c[2] as f32;
        let mut prev = -1.0;
        for i in 0..=100 {
            let l = luma(lookup(&VIRIDIS, i as f32 / 100.0));
            assert!(l >= prev - 0.5, "luma fell at {i}");
            prev = l;
        }
    }

    #[test]
    fn diverging_is_white_at_zero() {
        let s = ColorScale::Diverging { max: 2.0 };
        assert_eq!(s.color(0.0), DIVERGING[4]);
        assert_eq!(s.color(-2.0), DIVERGING[0]);
        assert_eq!(s.color(5.0), DIVERGING[8]);
        assert_eq!(ColorScale::Sequential { max: 0.0 }.position(1.0), 0.0);
        let legend = ColorScale::Sequential { max: 1.0 }.legend(5);
        assert_eq!(legend.len(), 5);
        assert_eq!(legend[4].0, 1.0);
        assert_eq!(hex([255, 0, 16]), "#ff0010");
    }
}
