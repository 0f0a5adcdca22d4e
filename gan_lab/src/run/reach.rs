//! Time to quality: the training seconds at which a run first reached a quality threshold, and
//! which direction of each metric is the better one.

use super::{read_quality, QualityRow, RunDir, RunTable};
use crate::error::{Error, Result};

/// Whether a smaller value of `metric` is the better one (an error for a column without a
/// better direction, such as density, whose ideal is 1, or the losses).
pub fn lower_is_better(metric: &str) -> Result<bool> {
    match metric {
        "fld" | "kid" | "class_kl" | "mode_kl" | "train_s" | "cost_usd" => Ok(true),
        "precision" | "recall" | "coverage" | "class_coverage" | "modes" | "images_per_s" => Ok(false),
        other => Err(Error::Other(format!(
            "'{other}' has no better direction to judge by; use fld, kid, class_kl, precision, recall, coverage, class_coverage, modes, mode_kl, images_per_s, train_s or cost_usd"
        ))),
    }
}

/// The quality metrics with a better direction that a run's `quality.parquet` holds.
const QUALITY: [&str; 8] = ["fld", "precision", "recall", "coverage", "class_coverage", "class_kl", "modes", "mode_kl"];

/// Training seconds at `step`, read off the logged (step, train_s) points — linear between
/// them, from (0, 0) before the first, along the last interval after the last.
pub fn train_seconds_at(points: &[(u64, f64)], step: u64) -> Option<f64> {
    let mut prev = (0u64, 0.0f64);
    let mut last_rate = None;
    for &(s, t) in points {
        if s > prev.0 {
            let rate = (t - prev.1) / (s - prev.0) as f64;
            if step <= s {
                return Some(prev.1 + rate * (step - prev.0) as f64);
            }
            last_rate = Some(rate);
            prev = (s, t);
        } else if s == step {
            return Some(t);
        }
    }
    if step == prev.0 {
        return Some(prev.1);
    }
    last_rate.map(|r| prev.1 + r * (step - prev.0) as f64)
}

/// A run's evaluations with the protocol of its last one, in step order (none when it was never
/// evaluated).
pub(super) fn comparable_evaluations(run: &RunDir) -> Result<Vec<QualityRow>> {
    if !run.quality_path().is_file() {
        return Ok(Vec::new());
    }
    let mut rows = read_quality(&run.quality_path())?;
    let Some(protocol) = rows.last().map(|q| q.protocol.key()) else { return Ok(Vec::new()) };
    rows.retain(|q| q.protocol.key() == protocol);
    rows.sort_by_key(|q| q.step);
    Ok(rows)
}

/// The run's training seconds at each of `rows`: recorded with the evaluation, or, for tables
/// written before that, read off the run's log (which is then read once).
pub(super) fn evaluation_seconds(run: &RunDir, rows: &[QualityRow]) -> Result<Vec<Option<f64>>> {
    let logged: Vec<(u64, f64)> = if rows.iter().all(|q| q.train_s.is_finite()) { Vec::new() } else { run.metrics()?.iter().map(|m| (m.step, m.train_s)).collect() };
    Ok(rows.iter().map(|q| if q.train_s.is_finite() { Some(q.train_s) } else { train_seconds_at(&logged, q.step) }).collect())
}

impl RunTable {
    /// For each run, the training seconds at its first evaluation where `metric` reached
    /// `threshold` (see [`Measure::TimeTo`]); None when it never did or was never evaluated.
    /// Only the evaluations with the protocol of the run's last one count.
    pub fn time_to_quality(&self, metric: &str, threshold: f64) -> Result<Vec<Option<f64>>> {
        if !QUALITY.contains(&metric) {
            return Err(Error::Other(format!("time to quality is measured on {}, not on '{metric}'", QUALITY.join(", "))));
        }
        let lower = lower_is_better(metric)?;
        let mut out = Vec::with_capacity(self.paths.len());
        for path in &self.paths {
            let run = RunDir { path: path.clone() };
            let rows = comparable_evaluations(&run)?;
            let reached = rows.into_iter().find(|r| {
                let v = r.value(metric).unwrap_or(f64::NAN);
                v.is_finite() && if lower { v <= threshold } else { v >= threshold }
            });
            out.push(match reached {
                Some(r) => evaluation_seconds(&run, std::slice::from_ref(&r))?[0],
                None => None,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_seconds_between_and_beyond_logged_steps() {
        let points = [(10, 2.0), (20, 6.0), (30, 8.0)];
        assert_eq!(train_seconds_at(&points, 0), Some(0.0));
        assert_eq!(train_seconds_at(&points, 5), Some(1.0));
        assert_eq!(train_seconds_at(&points, 20), Some(6.0));
        assert_eq!(train_seconds_at(&points, 25), Some(7.0));
        assert_eq!(train_seconds_at(&points, 40), Some(10.0), "along the last interval");
        assert_eq!(train_seconds_at(&[], 0), Some(0.0));
        assert_eq!(train_seconds_at(&[], 10), None, "nothing logged: unknown");
    }
}
