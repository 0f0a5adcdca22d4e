//! `metrics.parquet`: one row per logged step.

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::{read_parquet, write_parquet};
use crate::error::{Error, Result};

/// Means over one logging interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Generator updates done at the end of the interval.
    pub step: u64,
    /// Epochs of training data seen.
    pub epoch: f64,
    /// Discriminator loss BCE(D(x), 1) + BCE(D(G(z)), 0).
    pub d_loss: f64,
    /// Generator loss.
    pub g_loss: f64,
    /// Mean D(x) on real batches (σ of the logit).
    pub d_real: f64,
    /// Mean D(G(z)) on fake batches, during the D step.
    pub d_fake: f64,
    /// Learning rates in force at the end of the interval.
    pub lr_g: f64,
    pub lr_d: f64,
    /// Training throughput over the interval (image = one real image per G step).
    pub steps_per_s: f64,
    pub images_per_s: f64,
    /// Cumulative training seconds (sampling and checkpoints excluded), across resumes.
    pub train_s: f64,
    /// UNIX time when the row was logged.
    pub wall_unix: f64,
    /// Relative L2 change of the generator's weights in the interval's last update.
    pub g_update: f64,
    /// Mean pairwise distance of the fixed samples ÷ that of real images (≈ 1 is healthy).
    pub diversity: f64,
    /// Training-health alarms raised at this row, comma-separated (empty when healthy).
    pub alarms: String,
}

const F64_COLUMNS: [&str; 13] = [
    "epoch", "d_loss", "g_loss", "d_real", "d_fake", "lr_g", "lr_d", "steps_per_s", "images_per_s", "train_s", "wall_unix", "g_update",
    "diversity",
];

fn f64_fields(r: &MetricsRow) -> [f64; 13] {
    [
        r.epoch, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.lr_g, r.lr_d, r.steps_per_s, r.images_per_s, r.train_s, r.wall_unix, r.g_update,
        r.diversity,
    ]
}

/// The rows as a DataFrame (column per field).
pub fn metrics_frame(rows: &[MetricsRow]) -> Result<DataFrame> {
    let mut columns = vec![Column::new("step".into(), rows.iter().map(|r| r.step).collect::<Vec<u64>>())];
    for (i, name) in F64_COLUMNS.iter().enumerate() {
        columns.push(Column::new((*name).into(), rows.iter().map(|r| f64_fields(r)[i]).collect::<Vec<f64>>()));
    }
    columns.push(Column::new("alarms".into(), rows.iter().map(|r| r.alarms.clone()).collect::<Vec<String>>()));
    DataFrame::new(rows.len(), columns).map_err(|e| Error::table("building the metrics table", e))
}

/// Writes every row to `path` as parquet, atomically (the file is always complete).
pub fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    write_parquet(path, metrics_frame(rows)?)
}

/// Reads `metrics.parquet` back into rows.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    let bad = |e: PolarsError| Error::bad_file(path, format!("not a readable metrics table ({e})"));
    let df = read_parquet(path, "metrics table")?;
    let steps = df.column("step").and_then(|c| c.u64().cloned()).map_err(bad)?;
    let mut cols = Vec::new();
    for name in F64_COLUMNS {
        cols.push(df.column(name).and_then(|c| c.f64().cloned()).map_err(bad)?);
    }
    let alarms = df.column("alarms").and_then(|c| c.str().cloned()).map_err(bad)?;
    let get = |c: usize, i: usize| cols[c].get(i).unwrap_or(f64::NAN);
    Ok((0..df.height())
        .map(|i| MetricsRow {
            step: steps.get(i).unwrap_or(0),
            epoch: get(0, i),
            d_loss: get(1, i),
            g_loss: get(2, i),
            d_real: get(3, i),
            d_fake: get(4, i),
            lr_g: get(5, i),
            lr_d: get(6, i),
            steps_per_s: get(7, i),
            images_per_s: get(8, i),
            train_s: get(9, i),
            wall_unix: get(10, i),
            g_update: get(11, i),
            diversity: get(12, i),
            alarms: alarms.get(i).unwrap_or("").to_string(),
        })
        .collect())
}

/// How far apart two runs' logged numbers are at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepAgreement {
    pub step: u64,
    /// |a − b| ÷ max(|a|, |b|, 1e-6) for d_loss, g_loss, d_real, d_fake.
    pub relative: [f64; 4],
}

impl StepAgreement {
    /// The largest of the four relative differences (NaN when any value is not finite).
    pub fn worst(&self) -> f64 {
        max_or_nan(self.relative)
    }
}

/// The largest relative difference over all compared steps (NaN when any is NaN).
pub fn worst_of(steps: &[StepAgreement]) -> f64 {
    max_or_nan(steps.iter().map(StepAgreement::worst))
}

/// The largest value (0 for none); NaN when any is NaN — a non-finite loss is the worst disagreement.
fn max_or_nan(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |m, v| if v.is_nan() || m.is_nan() { f64::NAN } else { m.max(v) })
}

/// The numbers the agreement check compares, in [`StepAgreement::relative`] order.
pub const AGREEMENT_FIELDS: [&str; 4] = ["d_loss", "g_loss", "d_real", "d_fake"];

/// Step by step, the relative differences between two runs' metrics rows at the steps both
/// logged, for at most `steps` steps (e.g. one checkpoint resumed on two backends).
pub fn compare_losses(a: &[MetricsRow], b: &[MetricsRow], steps: usize) -> Vec<StepAgreement> {
    let rel = |x: f64, y: f64| (x - y).abs() / x.abs().max(y.abs()).max(1e-6);
    a.iter()
        .filter_map(|ra| b.iter().find(|rb| rb.step == ra.step).map(|rb| (ra, rb)))
        .take(steps)
        .map(|(ra, rb)| StepAgreement {
            step: ra.step,
            relative: [rel(ra.d_loss, rb.d_loss), rel(ra.g_loss, rb.g_loss), rel(ra.d_real, rb.d_real), rel(ra.d_fake, rb.d_fake)],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64) -> MetricsRow {
        MetricsRow {
            step,
            epoch: step as f64 / 100.0,
            d_loss: 1.25,
            g_loss: 0.75,
            d_real: 0.6,
            d_fake: 0.4,
            lr_g: 2e-4,
            lr_d: 2e-4,
            steps_per_s: 3.0,
            images_per_s: 192.0,
            train_s: step as f64 / 3.0,
            wall_unix: 1.8e9,
            g_update: 1e-3,
            diversity: 0.9,
            alarms: if step == 100 { "d_winning,low_diversity".into() } else { String::new() },
        }
    }

    #[test]
    fn metrics_rows_round_trip_through_parquet() {
        let dir = crate::test_scratch_dir("metrics");
        std::fs::create_dir_all(&dir).unwrap();
        let rows: Vec<MetricsRow> = [50, 100, 150].into_iter().map(row).collect();
        write_metrics(&dir.join("metrics.parquet"), &rows).unwrap();
        assert_eq!(read_metrics(&dir.join("metrics.parquet")).unwrap(), rows);
    }

    #[test]
    fn a_corrupt_metrics_file_is_an_error_naming_it() {
        let dir = crate::test_scratch_dir("metrics_bad");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("metrics.parquet"), b"PAR1 not really").unwrap();
        let err = read_metrics(&dir.join("metrics.parquet")).unwrap_err().to_string();
        assert!(err.contains("metrics.parquet") && err.contains("not a readable metrics table"), "{err}");
    }

    #[test]
    fn agreement_is_the_relative_difference_at_steps_both_runs_logged() {
        let a = vec![row(1), row(2), row(3)];
        let mut b = vec![row(2), row(3), row(4)];
        b[0].d_loss = 1.0; // 0.25 / 1.25 = 0.2
        b[1].g_loss = f64::NAN;
        let agree = compare_losses(&a, &b, 10);
        assert_eq!(agree.iter().map(|s| s.step).collect::<Vec<_>>(), [2, 3]);
        assert!((agree[0].worst() - 0.2).abs() < 1e-12);
        assert_eq!(agree[0].relative[1], 0.0);
        assert!(agree[1].worst().is_nan());
        assert!(worst_of(&agree).is_nan());
        assert!((worst_of(&agree[..1]) - 0.2).abs() < 1e-12);
        assert_eq!(compare_losses(&a, &b, 1).len(), 1);
    }
}
