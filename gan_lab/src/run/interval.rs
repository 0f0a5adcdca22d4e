//! Is a difference between two configurations real? Welch's confidence interval for the
//! difference of two means over seeds, and the verdict it gives: better, worse or within noise.
//!
//! Welch's t interval (unequal variances, Welch–Satterthwaite degrees of freedom) is what
//! `scipy.stats.ttest_ind(x, y, equal_var=False).confidence_interval(level)` computes; the tests
//! check it, and Student's t quantile under it, against `reference/intervals.py`. With 3–5 seeds
//! per configuration a bootstrap interval is too narrow (it cannot see variance it did not sample);
//! the t interval is the standard choice for such small samples.

use crate::error::{Error, Result};

/// Welch's interval for mean(x) − mean(y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// mean(x) − mean(y).
    pub diff: f64,
    /// The interval's ends (equal to `diff` when neither sample varies).
    pub low: f64,
    pub high: f64,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Welch–Satterthwaite degrees of freedom (∞ when neither sample varies).
    pub df: f64,
    pub n_x: usize,
    pub n_y: usize,
}

/// What an interval says about x against y.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    WithinNoise,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::WithinNoise => "within noise",
        }
    }
}

impl Difference {
    /// Better or worse when the whole interval lies on one side of 0 (an interval touching 0 is
    /// within noise); which side is better depends on the metric.
    pub fn verdict(&self, lower_is_better: bool) -> Verdict {
        let (good, bad) = if lower_is_better { (self.high < 0.0, self.low > 0.0) } else { (self.low > 0.0, self.high < 0.0) };
        if good {
            Verdict::Better
        } else if bad {
            Verdict::Worse
        } else {
            Verdict::WithinNoise
        }
    }
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0))
}

/// Welch's `level` confidence interval for mean(x) − mean(y). Each sample needs at least two
/// finite values (one seed has no spread to judge a difference by).
pub fn welch(x: &[f64], y: &[f64], level: f64) -> Result<Difference> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::Other(format!("a confidence level is between 0 and 1 (exclusive), got {level}")));
    }
    for (name, v) in [("first", x), ("second", y)] {
        if v.len() < 2 {
            return Err(Error::Other(format!("an interval needs at least 2 values on each side (2 seeds); the {name} has {}", v.len())));
        }
        if let Some(bad) = v.iter().find(|a| !a.is_finite()) {
            return Err(Error::Other(format!("an interval needs finite values; the {name} holds {bad}")));
        }
    }
    let ((mx, vx), (my, vy)) = (mean_var(x), mean_var(y));
    let (sx, sy) = (vx / x.len() as f64, vy / y.len() as f64);
    let diff = mx - my;
    let se = (sx + sy).sqrt();
    let (n_x, n_y) = (x.len(), y.len());
    if se == 0.0 {
        return Ok(Difference { diff, low: diff, high: diff, level, df: f64::INFINITY, n_x, n_y });
    }
    let df = (sx + sy).powi(2) / (sx * sx / (n_x as f64 - 1.0) + sy * sy / (n_y as f64 - 1.0));
    let half = student_t_quantile(0.5 + level / 2.0, df) * se;
    Ok(Difference { diff, low: diff - half, high: diff + half, level, df, n_x, n_y })
}

/// The `p` quantile of Student's t distribution with `df` > 0 degrees of freedom (not
/// necessarily whole), for 0 < p < 1: bisection on [`student_t_cdf`] to full f64 precision.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && df > 0.0, "t quantile needs 0 < p < 1 and df > 0, got p {p}, df {df}");
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let mut hi = 1.0;
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom: 1 − I_{df/(df+t²)}(df/2, 1/2) / 2 for t ≥ 0.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// I_x(a, b), the regularised incomplete beta function, by its continued fraction (modified
/// Lentz), taken on the side where it converges fast.
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        for numerator in [m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)), -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))] {
            d = 1.0 + numerator * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + numerator / c;
            c = if c.abs() < TINY { TINY } else { c };
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9, 676.520_368_121_885_1, -1_259.139_216_722_402_8, 771.323_428_777_653_1, -176.615_029_162_140_6,
        12.507_343_278_686_905, -0.138_571_095_265_720_12, 9.984_369_578_019_572e-6, 1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = G[1..].iter().enumerate().fold(G[0], |s, (i, g)| s + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1.0)
    }

    #[test]
    fn t_quantiles_match_scipy() {
        // Printed by `python3 reference/intervals.py` (scipy.stats.t.ppf).
        let expected = [
            (0.975, 1.0, 12.706204736174694),
            (0.975, 2.0, 4.302652729749462),
            (0.975, 2.5, 3.5746548420036817),
            (0.975, 4.0, 2.7764451051977934),
            (0.95, 3.7, 2.1824938039146007),
            (0.975, 30.0, 2.0422724563012378),
            (0.995, 7.25, 3.4587559624438082),
            (0.6, 1.5, 0.30074539256979543),
            (0.975, 1000000.0, 1.959966356814107),
        ];
        for (p, df, want) in expected {
            let got = student_t_quantile(p, df);
            assert!(close(got, want, 1e-10), "t.ppf({p}, {df}): {got} against scipy's {want}");
            assert!(close(student_t_quantile(1.0 - p, df), -want, 1e-10), "the lower tail is the mirror image");
        }
    }

    #[test]
    fn welch_intervals_match_scipy() {
        // The arrays and the intervals of `reference/intervals.py` (scipy.stats.ttest_ind,
        // equal_var=False, .confidence_interval(level)).
        let a = [935.2, 861.0, 1009.4];
        let b = [1536.0, 1431.7, 1640.2, 1588.9, 1480.3];
        let c = [851.0, 820.5, 881.9, 859.3];
        let expected: [(&[f64], &[f64], f64, f64, f64, f64, f64); 4] = [
            (&a, &b, 0.95, -600.2199999999999, -747.9801771415661, -452.45982285843377, 4.788251884222108),
            (&c, &a, 0.95, -82.02499999999998, -249.0195895569615, 84.96958955696155, 2.354783649674507),
            (&b, &c, 0.9, 682.2449999999999, 602.7298182555834, 761.7601817444164, 4.8991150744342065),
            (&a, &c, 0.95, 82.02499999999998, -84.96958955696155, 249.0195895569615, 2.354783649674507),
        ];
        for (x, y, level, diff, low, high, df) in expected {
            let d = welch(x, y, level).unwrap();
            for (what, got, want) in [("diff", d.diff, diff), ("low", d.low, low), ("high", d.high, high), ("df", d.df, df)] {
                assert!(close(got, want, 1e-9), "{what} of {x:?} − {y:?} at {level}: {got} against scipy's {want}");
            }
            assert_eq!((d.n_x, d.n_y), (x.len(), y.len()));
        }
    }

    #[test]
    fn the_verdict_follows_the_interval_and_the_metric_direction() {
        let a = [935.2, 861.0, 1009.4];
        let b = [1536.0, 1431.7, 1640.2, 1588.9, 1480.3];
        let c = [851.0, 820.5, 881.9, 859.3];
        let ab = welch(&a, &b, 0.95).unwrap();
        assert_eq!(ab.verdict(true), Verdict::Better, "lower FLD by a clear margin");
        assert_eq!(ab.verdict(false), Verdict::Worse, "lower recall by a clear margin");
        assert_eq!(welch(&b, &a, 0.95).unwrap().verdict(true), Verdict::Worse);
        assert_eq!(welch(&c, &a, 0.95).unwrap().verdict(true), Verdict::WithinNoise, "the interval holds 0");
        // Identical seeds: no spread, the difference alone decides.
        let same = welch(&[2.0, 2.0], &[3.0, 3.0, 3.0], 0.95).unwrap();
        assert_eq!((same.low, same.high, same.verdict(true)), (-1.0, -1.0, Verdict::Better));
        assert_eq!(welch(&[2.0, 2.0], &[2.0, 2.0], 0.95).unwrap().verdict(true), Verdict::WithinNoise);
    }

    #[test]
    fn too_few_seeds_bad_values_and_bad_levels_are_errors_that_say_so() {
        let err = welch(&[1.0], &[1.0, 2.0], 0.95).unwrap_err().to_string();
        assert!(err.contains("at least 2") && err.contains("first has 1"), "{err}");
        let err = welch(&[1.0, 2.0], &[1.0, f64::NAN], 0.95).unwrap_err().to_string();
        assert!(err.contains("second holds NaN"), "{err}");
        let err = welch(&[1.0, 2.0], &[1.0, 3.0], 95.0).unwrap_err().to_string();
        assert!(err.contains("got 95"), "{err}");
    }
}
