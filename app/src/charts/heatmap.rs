//! Heatmap pixel buffers (one RGBA pixel per cell) and the numbers tests read back.

use super::colormap::ColorScale;

/// A row-major matrix of values to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
}

impl Matrix {
    /// A matrix, or `None` when `values` has the wrong length.
    pub fn new(rows: usize, cols: usize, values: Vec<f32>) -> Option<Self> {
        (values.len() == rows * cols).then_some(Matrix { rows, cols, values })
    }

    /// The value at (row, col), if inside.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        (row < self.rows && col < self.cols).then(|| self.values[row * self.cols + col])
    }

    /// Largest |value| (0 for an empty matrix; NaN ignored).
    pub fn max_abs(&self) -> f32 {
        self.values
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |m, v| m.max(v.abs()))
    }

    /// Sum of the values (a checksum the browser tests compare between runs).
    pub fn sum(&self) -> f64 {
        self.values
            .iter()
            .filter(|v| v.is_finite())
            .map(|&v| v as f64)
            .sum()
    }
}

/// RGBA bytes (rows * cols * 4) of `m` under `scale`, for `putImageData`.
pub fn rgba(m: &Matrix, scale: &ColorScale) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.values.len() * 4);
    for &v in &m.values {
        let [r, g, b] = scale.color(v);
        out.extend_from_slice(&[r, g, b, 255]);
    }
    out
}

/// Which cell a point falls in, for hover: `x`, `y` in pixels inside a `w` x `h` area.
pub fn cell_at(m: &Matrix, x: f64, y: f64, w: f64, h: f64) -> Option<(usize, usize)> {
    if !(x >= 0.0 && y >= 0.0 && x < w && y < h) || m.rows == 0 || m.cols == 0 {
        return None;
    }
    let col = ((x / w) * m.cols as f64) as usize;
    let row = ((y / h) * m.rows as f64) as usize;
    Some((row.min(m.rows - 1), col.min(m.cols - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::colormap::VIRIDIS;

    #[test]
    fn pixels_follow_the_scale() {
        let m = Matrix::new(1, 2, vec![0.0, 1.0]).unwrap();
        let px = rgba(&m, &ColorScale::Sequential { max: 1.0 });
        assert_eq!(px.len(), 8);
        assert_eq!(&px[..3], &VIRIDIS[0]);
        assert_eq!(&px[4..7], &VIRIDIS[8]);
        assert_eq!(px[7], 255);
        assert!(Matrix::new(2, 2, vec![0.0]).is_none());
    }

    #[test]
    fn hover_cells() {
        let m = Matrix::new(4, 4, vec![0.0; 16]).unwrap();
        assert_eq!(cell_at(&m, 0.0, 0.0, 100.0, 100.0), Some((0, 0)));
        assert_eq!(cell_at(&m, 99.9, 30.0, 100.0, 100.0), Some((1, 3)));
        assert_eq!(cell_at(&m, 100.0, 0.0, 100.0, 100.0), None);
        assert_eq!(cell_at(&m, -1.0, 0.0, 100.0, 100.0), None);
    }

    #[test]
    fn stats() {
        let m = Matrix::new(1, 3, vec![-2.0, 1.0, f32::NAN]).unwrap();
        assert_eq!(m.max_abs(), 2.0);
        assert_eq!(m.sum(), -1.0);
        assert_eq!(m.get(0, 1), Some(1.0));
        assert_eq!(m.get(1, 0), None);
    }
}
