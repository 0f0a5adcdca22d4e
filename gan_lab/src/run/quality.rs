//! `quality.parquet`: one row per evaluation of a run's generator, every number stored with the
//! protocol that produced it (extractor and weights hash, layer, sample counts, real split, seed).

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::{read_parquet, write_parquet};
use crate::config::Sampling;
use crate::error::{Error, Result};

/// How a quality number was measured. Numbers with different protocols are not comparable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// `lenet-<dataset>@<sha256 prefix>`.
    pub extractor: String,
    pub layer: String,
    pub n_real: usize,
    pub n_fake: usize,
    /// `holdout` (the fixed held-out split) or `all` (every image of the dataset).
    pub real_split: String,
    /// Seed of the generated samples and of KID's subsets.
    pub seed: u64,
    /// Which BatchNorm statistics G used to make the samples (rows written before this was
    /// recorded read as the running statistics, which every evaluation used until then).
    #[serde(default)]
    pub sampling: Sampling,
}

impl Protocol {
    /// One string that is equal exactly when two protocols are.
    pub fn key(&self) -> String {
        format!("{} seed={}", self.key_across_seeds(), self.seed)
    }

    /// The protocol without its seed, which follows the run's seed: equal when two runs' numbers
    /// measure the same thing, so that their spread over seeds means something.
    pub fn key_across_seeds(&self) -> String {
        format!("{} {} real={}:{} fake={} sampling={}", self.extractor, self.layer, self.real_split, self.n_real, self.n_fake, self.sampling.name())
    }
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityRow {
    pub step: u64,
    /// Fréchet distance in the feature network's space (FID with our extractor).
    pub fld: f64,
    pub kid_mean: f64,
    pub kid_std: f64,
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
    /// Fraction of classes predicted at least once among the samples.
    pub class_coverage: f64,
    /// KL(predicted class histogram ‖ uniform), nats.
    pub class_kl: f64,
    /// Mean distance of samples to their nearest training image (features).
    pub nn_fake_train: f64,
    /// The same for held-out real images: samples much closer than this suggest memorisation.
    pub nn_real_train: f64,
    /// Seconds the evaluation took (not counted as training time).
    pub eval_s: f64,
    /// The run's training seconds when it was evaluated (NaN when unknown: `gan-lab eval` of a
    /// checkpoint, or a table written before this column).
    pub train_s: f64,
    /// Stacked MNIST's modes (of 1000) that the samples cover, and KL(their mode histogram ‖
    /// uniform) in nats (`metrics::modes`); NaN for other datasets and for tables written before
    /// these columns.
    pub modes: f64,
    pub mode_kl: f64,
    pub protocol: Protocol,
}

/// The f64 columns in order. Those from `train_s` on came later: tables written before them lack
/// them and read as NaN.
const F64: [&str; 15] = [
    "fld", "kid_mean", "kid_std", "precision", "recall", "density", "coverage", "class_coverage", "class_kl", "nn_fake_train",
    "nn_real_train", "eval_s", "train_s", "modes", "mode_kl",
];
const FIRST_LATER_COLUMN: usize = 12;

fn values(r: &QualityRow) -> [f64; 15] {
    [
        r.fld, r.kid_mean, r.kid_std, r.precision, r.recall, r.density, r.coverage, r.class_coverage, r.class_kl, r.nn_fake_train,
        r.nn_real_train, r.eval_s, r.train_s, r.modes, r.mode_kl,
    ]
}

impl QualityRow {
    /// A row for tests: `fld` at `step`, every other number fixed.
    #[cfg(test)]
    pub(crate) fn for_test(step: u64, fld: f64, protocol: Protocol) -> Self {
        QualityRow {
            step, fld, kid_mean: 0.1, kid_std: 0.0, precision: 0.5, recall: 0.5, density: 1.0, coverage: 0.5, class_coverage: 1.0, class_kl: 0.1,
            nn_fake_train: 1.0, nn_real_train: 1.0, eval_s: 1.0, train_s: f64::NAN, modes: f64::NAN, mode_kl: f64::NAN, protocol,
        }
    }

    /// The number called `name` (`fld`, `precision`, `class_kl`…; the names of `quality.parquet`'s
    /// columns), or None for a name it does not hold.
    pub fn value(&self, name: &str) -> Option<f64> {
        F64.iter().position(|n| *n == name).map(|i| values(self)[i])
    }
}

/// The rows as a DataFrame (protocol columns included).
pub fn quality_frame(rows: &[QualityRow]) -> Result<DataFrame> {
    let mut cols = vec![Column::new("step".into(), rows.iter().map(|r| r.step).collect::<Vec<u64>>())];
    for (i, name) in F64.iter().enumerate() {
        cols.push(Column::new((*name).into(), rows.iter().map(|r| values(r)[i]).collect::<Vec<f64>>()));
    }
    let s = |name: &str, f: fn(&QualityRow) -> String| Column::new(name.into(), rows.iter().map(f).collect::<Vec<String>>());
    let u = |name: &str, f: fn(&QualityRow) -> u64| Column::new(name.into(), rows.iter().map(f).collect::<Vec<u64>>());
    cols.push(s("extractor", |r| r.protocol.extractor.clone()));
    cols.push(s("layer", |r| r.protocol.layer.clone()));
    cols.push(u("n_real", |r| r.protocol.n_real as u64));
    cols.push(u("n_fake", |r| r.protocol.n_fake as u64));
    cols.push(s("real_split", |r| r.protocol.real_split.clone()));
    cols.push(u("eval_seed", |r| r.protocol.seed));
    cols.push(s("sampling", |r| r.protocol.sampling.name().into()));
    DataFrame::new(rows.len(), cols).map_err(|e| Error::table("building the quality table", e))
}

/// Writes every row to `path` as parquet, atomically.
pub fn write_quality(path: &Path, rows: &[QualityRow]) -> Result<()> {
    write_parquet(path, quality_frame(rows)?)
}

/// Reads `quality.parquet` back.
pub fn read_quality(path: &Path) -> Result<Vec<QualityRow>> {
    let bad = |e: PolarsError| Error::bad_file(path, format!("not a readable quality table ({e})"));
    let df = read_parquet(path, "quality table")?;
    let step = df.column("step").and_then(|c| c.u64().cloned()).map_err(bad)?;
    let f: Vec<Float64Chunked> = F64
        .iter()
        .map(|n| match df.column(n) {
            Err(_) if F64[FIRST_LATER_COLUMN..].contains(n) => Ok(Float64Chunked::full_null((*n).into(), df.height())),
            c => c.and_then(|c| c.f64().cloned()),
        })
        .collect::<PolarsResult<_>>()
        .map_err(bad)?;
    let st = |n: &str| df.column(n).and_then(|c| c.str().cloned()).map_err(bad);
    let un = |n: &str| df.column(n).and_then(|c| c.u64().cloned()).map_err(bad);
    let (extractor, layer, split) = (st("extractor")?, st("layer")?, st("real_split")?);
    let (n_real, n_fake, seed) = (un("n_real")?, un("n_fake")?, un("eval_seed")?);
    // Written before the sampling was recorded: every evaluation used the running statistics.
    let sampling = match df.column("sampling") {
        Ok(c) => {
            let names = c.str().map_err(bad)?;
            (0..df.height()).map(|i| Sampling::parse(names.get(i).unwrap_or(""))).collect::<Result<Vec<_>>>().map_err(|e| Error::bad_file(path, e.to_string()))?
        }
        Err(_) => vec![Sampling::RunningStatistics; df.height()],
    };
    Ok((0..df.height())
        .map(|i| {
            let v = |k: usize| f[k].get(i).unwrap_or(f64::NAN);
            QualityRow {
                step: step.get(i).unwrap_or(0),
                fld: v(0),
                kid_mean: v(1),
                kid_std: v(2),
                precision: v(3),
                recall: v(4),
                density: v(5),
                coverage: v(6),
                class_coverage: v(7),
                class_kl: v(8),
                nn_fake_train: v(9),
                nn_real_train: v(10),
                eval_s: v(11),
                train_s: v(12),
                modes: v(13),
                mode_kl: v(14),
                protocol: Protocol {
                    extractor: extractor.get(i).unwrap_or("").into(),
                    layer: layer.get(i).unwrap_or("").into(),
                    n_real: n_real.get(i).unwrap_or(0) as usize,
                    n_fake: n_fake.get(i).unwrap_or(0) as usize,
                    real_split: split.get(i).unwrap_or("").into(),
                    seed: seed.get(i).unwrap_or(0),
                    sampling: sampling[i],
                },
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_rows_round_trip_through_parquet_with_their_protocol() {
        let dir = crate::test_scratch_dir("quality");
        std::fs::create_dir_all(&dir).unwrap();
        let row = QualityRow {
            step: 1000, fld: 12.5, kid_mean: 0.01, kid_std: 0.001, precision: 0.7, recall: 0.4, density: 0.9, coverage: 0.6,
            class_coverage: 1.0, class_kl: 0.05, nn_fake_train: 3.0, nn_real_train: 3.2, eval_s: 1.5, train_s: 61.25, modes: 412.0, mode_kl: 1.25,
            protocol: Protocol { extractor: "lenet-mnist10k@abc".into(), layer: "fc1".into(), n_real: 1000, n_fake: 1000, real_split: "holdout".into(), seed: 4, sampling: Sampling::BatchStatistics },
        };
        write_quality(&dir.join("quality.parquet"), &[row.clone()]).unwrap();
        assert_eq!(read_quality(&dir.join("quality.parquet")).unwrap(), vec![row.clone()]);
        // A table written before train_s and the sampling were recorded reads with the time
        // unknown and the running statistics, which every evaluation used until then.
        let mut old = quality_frame(&[row.clone()]).unwrap();
        old.drop_in_place("train_s").unwrap();
        old.drop_in_place("sampling").unwrap();
        old.drop_in_place("modes").unwrap();
        old.drop_in_place("mode_kl").unwrap();
        write_parquet(&dir.join("old.parquet"), old).unwrap();
        let back = read_quality(&dir.join("old.parquet")).unwrap();
        assert!(back[0].train_s.is_nan() && back[0].modes.is_nan() && back[0].mode_kl.is_nan() && back[0].fld == row.fld, "{back:?}");
        assert_eq!(back[0].protocol.sampling, Sampling::RunningStatistics);
        assert!(row.protocol.key().contains("real=holdout:1000") && row.protocol.key().contains("sampling=batch_statistics"));
        assert_ne!(row.protocol.key_across_seeds(), back[0].protocol.key_across_seeds(), "the two samplings' numbers are not comparable");
    }

    #[test]
    fn the_kid_cell_shows_its_spread_or_none_when_one_subset_was_possible() {
        let protocol = Protocol { extractor: "x".into(), layer: "fc1".into(), n_real: 1000, n_fake: 1000, real_split: "holdout".into(), seed: 4, sampling: Default::default() };
        let row = QualityRow {
            step: 1, fld: 12.5, kid_mean: 0.01234, kid_std: 0.00137, precision: 0.7, recall: 0.4, density: 0.9, coverage: 0.6,
            class_coverage: 1.0, class_kl: 0.05, nn_fake_train: 3.0, nn_real_train: 3.2, eval_s: 1.5, train_s: 60.0, modes: f64::NAN, mode_kl: f64::NAN, protocol,
        };
        assert!(row.to_html().contains("<td style=\"text-align:right\">0.0123 ± 0.0014</td>"), "{}", row.to_html());
        let one_subset = QualityRow { kid_std: 0.0, ..row };
        assert!(one_subset.to_html().contains(">0.01234 ± n/a<"), "{}", one_subset.to_html());
    }
}
