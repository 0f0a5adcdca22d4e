//! The little dense linear algebra the metrics need: symmetric eigendecomposition (cyclic Jacobi),
//! matrix square roots of positive semi-definite matrices, means and covariances.

/// A row-major square matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Square {
    pub n: usize,
    pub a: Vec<f64>,
}

impl Square {
    pub fn zeros(n: usize) -> Self {
        Square { n, a: vec![0.0; n * n] }
    }
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }
    pub fn trace(&self) -> f64 {
        (0..self.n).map(|i| self.at(i, i)).sum()
    }
    pub fn matmul(&self, other: &Square) -> Square {
        let n = self.n;
        let mut out = Square::zeros(n);
        for i in 0..n {
            for k in 0..n {
                let aik = self.a[i * n + k];
                if aik == 0.0 {
                    continue;
                }
                for j in 0..n {
                    out.a[i * n + j] += aik * other.a[k * n + j];
                }
            }
        }
        out
    }
}

/// Eigenvalues and eigenvectors (as the columns of a row-major matrix) of a symmetric matrix.
pub fn symmetric_eigen(m: &Square) -> (Vec<f64>, Square) {
    let n = m.n;
    let mut a = m.a.clone();
    let mut v = Square::zeros(n);
    for i in 0..n {
        v.a[i * n + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| a[i * n + j].powi(2)).sum();
        if off.sqrt() <= 1e-15 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let akp = a[k * n + p];
                    let akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let apk = a[p * n + k];
                    let aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let vkp = v.a[k * n + p];
                    let vkq = v.a[k * n + q];
                    v.a[k * n + p] = c * vkp - s * vkq;
                    v.a[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Square root of a symmetric positive semi-definite matrix (negative eigenvalues, which only
/// rounding produces, are clamped to 0).
pub fn sqrt_psd(m: &Square) -> Square {
    let (values, v) = symmetric_eigen(m);
    let n = m.n;
    let mut out = Square::zeros(n);
    for k in 0..n {
        let s = values[k].max(0.0).sqrt();
        if s == 0.0 {
            continue;
        }
        for i in 0..n {
            let vik = v.a[i * n + k] * s;
            for j in 0..n {
                out.a[i * n + j] += vik * v.a[j * n + k];
            }
        }
    }
    out
}

/// Mean and unbiased covariance (divisor N − 1) of `rows` vectors of length `dim`.
pub fn mean_cov(x: &[f32], dim: usize) -> (Vec<f64>, Square) {
    let rows = x.len() / dim;
    let mut mean = vec![0.0f64; dim];
    for r in x.chunks(dim) {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += *v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mut cov = Square::zeros(dim);
    let mut centred = vec![0.0f64; dim];
    for r in x.chunks(dim) {
        for k in 0..dim {
            centred[k] = r[k] as f64 - mean[k];
        }
        for i in 0..dim {
            let ci = centred[i];
            let row = &mut cov.a[i * dim..(i + 1) * dim];
            for (j, c) in row.iter_mut().enumerate().skip(i) {
                *c += ci * centred[j];
            }
        }
    }
    let denom = (rows.max(2) - 1) as f64;
    for i in 0..dim {
        for j in i..dim {
            let v = cov.a[i * dim + j] / denom;
            cov.a[i * dim + j] = v;
            cov.a[j * dim + i] = v;
        }
    }
    (mean, cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_recovers_the_eigenvalues_of_a_known_matrix() {
        // [[2,1],[1,2]] has eigenvalues 1 and 3.
        let (mut vals, _) = symmetric_eigen(&Square { n: 2, a: vec![2.0, 1.0, 1.0, 2.0] });
        vals.sort_by(f64::total_cmp);
        assert!((vals[0] - 1.0).abs() < 1e-12 && (vals[1] - 3.0).abs() < 1e-12, "{vals:?}");
    }

    #[test]
    fn the_square_root_squares_back_to_the_matrix() {
        let m = Square { n: 3, a: vec![4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 2.0] };
        let r = sqrt_psd(&m);
        let back = r.matmul(&r);
        for (x, y) in back.a.iter().zip(&m.a) {
            assert!((x - y).abs() < 1e-10, "{back:?}");
        }
    }

    #[test]
    fn covariance_uses_the_unbiased_divisor() {
        let (mean, cov) = mean_cov(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2);
        assert_eq!(mean, vec![3.0, 4.0]);
        assert!((cov.at(0, 0) - 4.0).abs() < 1e-12 && (cov.at(0, 1) - 4.0).abs() < 1e-12);
    }
}
