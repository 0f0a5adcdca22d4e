//! The training log: one [`MetricsRow`] per logged step. `metrics.parquet` holds the rows up to
//! the last checkpoint; the rows logged since are appended, one line each, to
//! `metrics-journal.tsv` (O(1) per row), which the next checkpoint compacts into the parquet file.
//! [`super::RunDir::metrics`] reads both.

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::{parquet_bytes, read_parquet, write_atomic};
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
    /// The probability of each augmentation of D's images at the end of the interval
    /// (`discriminator.augment`); 0 when D's images are not augmented.
    pub augment_p: f64,
    /// Training-health alarms raised at this row, comma-separated (empty when healthy).
    pub alarms: String,
}

impl MetricsRow {
    /// A row for tests: `train_s` training seconds at `step`, every other number fixed.
    #[cfg(test)]
    pub(crate) fn for_test(step: u64, train_s: f64) -> Self {
        MetricsRow {
            step, epoch: 0.0, d_loss: 1.0, g_loss: 1.0, d_real: 0.6, d_fake: 0.4, lr_g: 0.0, lr_d: 0.0, steps_per_s: 1.0, images_per_s: 64.0, train_s,
            wall_unix: 0.0, g_update: 0.0, diversity: 1.0, augment_p: 0.0, alarms: String::new(),
        }
    }

    /// The names of the alarms raised at this row (none when healthy).
    pub fn alarm_names(&self) -> impl Iterator<Item = &str> {
        self.alarms.split(',').filter(|a| !a.is_empty())
    }
}

/// The f64 columns in order. `augment_p` came last and later: tables and journals written
/// before it (when nothing was augmented) lack it and read as 0.
const F64_COLUMNS: [&str; 14] = [
    "epoch", "d_loss", "g_loss", "d_real", "d_fake", "lr_g", "lr_d", "steps_per_s", "images_per_s", "train_s", "wall_unix", "g_update",
    "diversity", "augment_p",
];

fn f64_fields(r: &MetricsRow) -> [f64; 14] {
    [
        r.epoch, r.d_loss, r.g_loss, r.d_real, r.d_fake, r.lr_g, r.lr_d, r.steps_per_s, r.images_per_s, r.train_s, r.wall_unix, r.g_update,
        r.diversity, r.augment_p,
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

/// Every row as the bytes of a metrics.parquet file.
pub fn metrics_parquet(rows: &[MetricsRow]) -> Result<Vec<u8>> {
    parquet_bytes(metrics_frame(rows)?, "metrics table")
}

/// Writes every row to `path` as parquet, atomically (the file is always complete).
pub fn write_metrics(path: &Path, rows: &[MetricsRow]) -> Result<()> {
    write_atomic(path, &metrics_parquet(rows)?)
}

fn row_from_fields(step: u64, f: [f64; 14], alarms: String) -> MetricsRow {
    let [epoch, d_loss, g_loss, d_real, d_fake, lr_g, lr_d, steps_per_s, images_per_s, train_s, wall_unix, g_update, diversity, augment_p] = f;
    MetricsRow { step, epoch, d_loss, g_loss, d_real, d_fake, lr_g, lr_d, steps_per_s, images_per_s, train_s, wall_unix, g_update, diversity, augment_p, alarms }
}

/// `row` as one tab-separated line (no newline): step, the 14 numbers of [`F64_COLUMNS`] in
/// Rust's shortest round-trip form (so NaN and ±inf survive, which JSON numbers cannot carry),
/// the alarms. The journal's format, and how engine events carry rows.
pub fn metrics_line(row: &MetricsRow) -> String {
    let mut line = row.step.to_string();
    for v in f64_fields(row) {
        line.push('\t');
        line.push_str(&format!("{v:?}"));
    }
    line.push('\t');
    line.push_str(&row.alarms);
    line
}

/// The row of a [`metrics_line`] (or of an older one, without `augment_p`); `None` when the
/// line is not one.
pub fn parse_metrics_line(line: &str) -> Option<MetricsRow> {
    let parts: Vec<&str> = line.split('\t').collect();
    let numbers = parts.len().checked_sub(2).filter(|&k| k == F64_COLUMNS.len() || k == F64_COLUMNS.len() - 1)?;
    let step = parts[0].parse().ok()?;
    let mut f = [0.0; 14];
    for (slot, text) in f.iter_mut().zip(&parts[1..1 + numbers]) {
        *slot = text.parse().ok()?;
    }
    Some(row_from_fields(step, f, parts[1 + numbers].to_string()))
}

/// Appends `row` to the journal at `path` as its [`metrics_line`].
pub fn append_metrics_journal(path: &Path, row: &MetricsRow) -> Result<()> {
    use std::io::Write;
    let line = metrics_line(row) + "\n";
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(line.as_bytes()).map_err(|e| Error::io(path, e))
}

/// Reads a journal written by [`append_metrics_journal`]. A last line without its newline (a
/// process killed while writing it) is dropped; any other malformed line is an error naming it.
pub fn read_metrics_journal(path: &Path) -> Result<Vec<MetricsRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Ok(Vec::new()),
    };
    let rows = complete.split('\n').enumerate().map(|(i, line)| {
        parse_metrics_line(line).ok_or_else(|| Error::bad_file(path, format!("line {} is not a metrics row: '{line}'", i + 1)))
    });
    rows.collect()
}

/// Reads `metrics.parquet` back into rows.
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    let bad = |e: PolarsError| Error::bad_file(path, format!("not a readable metrics table ({e})"));
    let df = read_parquet(path, "metrics table")?;
    let steps = df.column("step").and_then(|c| c.u64().cloned()).map_err(bad)?;
    let mut cols = Vec::new();
    for name in F64_COLUMNS {
        if name == "augment_p" && df.column(name).is_err() {
            cols.push(None); // a table from before the column
            continue;
        }
        cols.push(Some(df.column(name).and_then(|c| c.f64().cloned()).map_err(bad)?));
    }
    let alarms = df.column("alarms").and_then(|c| c.str().cloned()).map_err(bad)?;
    Ok((0..df.height())
        .map(|i| {
            let f = std::array::from_fn(|c| match &cols[c] {
                Some(col) => col.get(i).unwrap_or(f64::NAN),
                None => 0.0,
            });
            row_from_fields(steps.get(i).unwrap_or(0), f, alarms.get(i).unwrap_or("").to_string())
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
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(step: u64) -> MetricsRow {
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
            augment_p: 0.25,
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
    fn journal_rows_round_trip_exactly_and_a_torn_last_line_is_dropped() {
        let dir = crate::test_scratch_dir("metrics_journal");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("metrics-journal.tsv");
        let mut rows: Vec<MetricsRow> = [50, 100, 150].into_iter().map(row).collect();
        rows[0].g_update = f64::NAN;
        rows[1].d_loss = f64::INFINITY;
        rows[2].epoch = 0.1 + 0.2; // not a short decimal
        for r in &rows {
            append_metrics_journal(&path, r).unwrap();
        }
        let back = read_metrics_journal(&path).unwrap();
        assert!(back[0].g_update.is_nan());
        assert_eq!(back[1..], rows[1..]);
        std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| std::io::Write::write_all(&mut f, b"200\t0.5")).unwrap();
        assert_eq!(read_metrics_journal(&path).unwrap().len(), 3, "the torn line is not a row");
        // a line written before the augment_p column reads with p = 0
        let old = metrics_line(&rows[2]).replacen("\t0.25\t", "\t", 1);
        assert_eq!(parse_metrics_line(&old).unwrap(), MetricsRow { augment_p: 0.0, ..rows[2].clone() });
        std::fs::write(&path, "50\tx\n").unwrap();
        let err = read_metrics_journal(&path).unwrap_err().to_string();
        assert!(err.contains("metrics-journal.tsv") && err.contains("line 1"), "{err}");
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
