//! Quality over training, one curve per configuration: at each evaluation, the mean and standard
//! deviation over the configuration's seeds, against training seconds or images seen. With a
//! plan's equal budget and `eval_every`, every run is evaluated at the same points, so the k-th
//! evaluations of a configuration's runs line up. With a time budget one chunk can pass two
//! evaluation times (a step longer than the interval: a stalled machine, a slow first step), so
//! there each evaluation is placed at the last point of the plan's grid it reached (the grid is in
//! the run's `sweep.json`), and a point a run skipped has one run fewer.

use super::reach::{comparable_evaluations, evaluation_seconds};
use super::group::mean_std;
use super::{read_json, RunDir, RunTable};
use crate::error::{Error, Result};
use crate::sweep::SweepRecord;

/// What a quality curve is drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Training seconds (summed over steps, across resumes; sampling and evaluation left out).
    TrainSeconds,
    /// Real images seen (steps × batch size).
    Images,
}

impl Progress {
    /// The axis label.
    pub fn label(self) -> &'static str {
        match self {
            Progress::TrainSeconds => "training time, s",
            Progress::Images => "images seen",
        }
    }
}

/// One point of a curve: the k-th evaluation of the runs that have one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Mean progress (seconds or images) of those evaluations.
    pub x: f64,
    pub mean: f64,
    /// Sample standard deviation over the runs (None with one run).
    pub std: Option<f64>,
    pub runs: usize,
}

/// One configuration's quality over training.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityCurve {
    /// The configuration and backend: `config · backend`.
    pub label: String,
    /// Runs of the configuration (evaluated or not).
    pub runs: usize,
    pub points: Vec<CurvePoint>,
}

impl RunTable {
    /// `metric` (a column of `quality.parquet`: fld, precision, recall, coverage…) over training
    /// for each configuration (`group_by(&["config"])`'s groups), against `progress`. Each run's
    /// evaluations with the protocol of its last one count, in step order.
    pub fn quality_curves(&self, metric: &str, progress: Progress) -> Result<Vec<QualityCurve>> {
        let (keys, groups) = self.groups(&["config"])?;
        let batch = self.numbers("batch")?;
        let mut curves = Vec::new();
        for (key, rows) in groups {
            let per_run: Vec<Vec<Evaluation>> = rows.iter().map(|&r| self.evaluations(r, metric, progress, batch[r].unwrap_or(f64::NAN))).collect::<Result<_>>()?;
            let points = per_run.iter().flatten().map(|e| e.point + 1).max().unwrap_or(0);
            let points = (0..points)
                .filter_map(|k| {
                    let at: Vec<(f64, f64)> = per_run.iter().flatten().filter(|e| e.point == k && e.y.is_finite()).map(|e| (e.x, e.y)).collect();
                    let (Some(x), (Some(mean), std)) = (mean_std(&at.iter().map(|p| p.0).collect::<Vec<_>>()).0, mean_std(&at.iter().map(|p| p.1).collect::<Vec<_>>())) else {
                        return None;
                    };
                    Some(CurvePoint { x, mean, std, runs: at.len() })
                })
                .collect();
            let label = keys.iter().zip(&key).filter(|(k, _)| k.as_str() != "config_key").map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" · ");
            curves.push(QualityCurve { label, runs: rows.len(), points });
        }
        Ok(curves)
    }

    /// Each evaluation of row `row`'s run: its point on the curve, progress and metric.
    fn evaluations(&self, row: usize, metric: &str, progress: Progress, batch: f64) -> Result<Vec<Evaluation>> {
        let run = RunDir { path: self.paths[row].clone() };
        let rows = comparable_evaluations(&run)?;
        let record = run.path.join("sweep.json");
        let grid = if record.is_file() { read_json::<SweepRecord>(&record)?.evaluation_times() } else { Vec::new() };
        let seconds = if progress == Progress::TrainSeconds || !grid.is_empty() { evaluation_seconds(&run, &rows)? } else { Vec::new() };
        // The last grid time each evaluation reached; the k-th evaluation is point k without a
        // grid, or when an evaluation does not fit it (before the first time, two at one point).
        let on_grid: Option<Vec<usize>> = seconds.iter().map(|s| grid.iter().filter(|&&t| s.is_some_and(|s| s >= t)).count().checked_sub(1)).collect();
        let points = on_grid.filter(|p| !grid.is_empty() && p.windows(2).all(|w| w[0] < w[1])).unwrap_or_else(|| (0..rows.len()).collect());
        rows.iter()
            .zip(points)
            .enumerate()
            .map(|(i, (q, point))| {
                let y = q.value(metric).ok_or_else(|| Error::Other(format!("quality.parquet has no '{metric}'; it has fld, kid_mean, precision, recall, density, coverage, class_coverage, class_kl")))?;
                let x = match progress {
                    Progress::TrainSeconds => seconds[i].unwrap_or(f64::NAN),
                    Progress::Images => q.step as f64 * batch,
                };
                Ok(Evaluation { point, x, y })
            })
            .collect()
    }
}

/// One evaluation of a run, placed on its configuration's curve.
struct Evaluation {
    point: usize,
    x: f64,
    y: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{write_metrics, write_quality, MetricsRow, Protocol, QualityRow};

    #[test]
    fn each_configuration_gets_mean_and_spread_over_seeds_at_each_evaluation() {
        let root = crate::test_scratch_dir("over_time");
        let _ = std::fs::remove_dir_all(&root);
        // Two seeds of mlp-gan (batch 64) evaluated at steps 10 and 20, one of dcgan28 at step 10 only.
        let runs: [(&str, u64, &[(u64, f64)]); 3] = [("mlp-gan", 0, &[(10, 300.0), (20, 100.0)]), ("mlp-gan", 1, &[(10, 500.0), (20, 140.0)]), ("dcgan28", 0, &[(10, 80.0)])];
        for (name, seed, evals) in runs {
            let mut cfg = crate::config::preset(name).unwrap();
            cfg.seed = seed;
            let run = RunDir::create(&root, &cfg).unwrap();
            let protocol = Protocol { extractor: "lenet".into(), layer: "fc1".into(), n_real: 9, n_fake: 9, real_split: "holdout".into(), seed: 7 + seed, sampling: Default::default() };
            write_quality(&run.quality_path(), &evals.iter().map(|&(step, fld)| QualityRow::for_test(step, fld, protocol.clone())).collect::<Vec<_>>()).unwrap();
            // Seed 1 trains at half the speed: 4 s per 10 steps against 2 s.
            let per_10 = if seed == 1 { 4.0 } else { 2.0 };
            write_metrics(&run.metrics_path(), &[MetricsRow::for_test(10, per_10), MetricsRow::for_test(20, 2.0 * per_10)]).unwrap();
        }
        RunDir::create(&root, &crate::config::preset("dcgan28").unwrap()).unwrap(); // never evaluated
        let table = RunTable::load(&root).unwrap();
        let curves = table.quality_curves("fld", Progress::TrainSeconds).unwrap();
        assert_eq!(curves.len(), 2, "{curves:?}");
        let mlp = curves.iter().find(|c| c.label.starts_with("mlp-gan")).unwrap();
        assert_eq!((mlp.label.as_str(), mlp.runs), ("mlp-gan · –", 2), "no platform.json: no backend");
        let std = |a: f64, b: f64| ((a - b) * (a - b) / 2.0).sqrt();
        assert_eq!(mlp.points, [
            CurvePoint { x: 3.0, mean: 400.0, std: Some(std(300.0, 500.0)), runs: 2 },
            CurvePoint { x: 6.0, mean: 120.0, std: Some(std(100.0, 140.0)), runs: 2 },
        ]);
        let dcgan = curves.iter().find(|c| c.label.starts_with("dcgan28")).unwrap();
        assert_eq!(dcgan.runs, 2, "the unevaluated run counts as a run");
        assert_eq!(dcgan.points, [CurvePoint { x: 2.0, mean: 80.0, std: None, runs: 1 }]);
        let by_images = table.quality_curves("recall", Progress::Images).unwrap();
        let mlp = by_images.iter().find(|c| c.label.starts_with("mlp-gan")).unwrap();
        assert_eq!(mlp.points.iter().map(|p| (p.x, p.mean)).collect::<Vec<_>>(), [(640.0, 0.5), (1280.0, 0.5)]);
        let err = table.quality_curves("d_loss", Progress::Images).unwrap_err().to_string();
        assert!(err.contains("no 'd_loss'") && err.contains("class_kl"), "{err}");
        let chart = table.quality_chart("fld", Progress::TrainSeconds, "FLD over training").unwrap();
        assert!(chart.svg.contains("<polygon") && chart.svg.contains("training time, s") && chart.svg.contains("mlp-gan · – (2 runs)"), "a band for the two-seed curve");
        assert!(chart.caption.contains("shaded: ± one standard deviation"), "{}", chart.caption);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_run_that_passed_two_evaluation_times_in_one_chunk_lines_up_with_the_plans_grid() {
        let root = crate::test_scratch_dir("over_time_grid");
        let _ = std::fs::remove_dir_all(&root);
        // A 4-second budget evaluated every 2 s. Seed 0 was evaluated at both times; seed 1's one
        // slow step carried it from under 2 s past 4 s, so its only evaluation closes the 4 s point.
        for (seed, evals) in [(0, &[(7, 2.1, 300.0), (14, 4.2, 100.0)][..]), (1, &[(5, 4.6, 140.0)][..])] {
            let mut cfg = crate::config::preset("mlp-gan").unwrap();
            cfg.seed = seed;
            let run = RunDir::create(&root, &cfg).unwrap();
            let record = SweepRecord {
                plan: "grid".into(), plan_hash: "0".into(), run_id: run.name(), values: Default::default(), backend: "flex".into(), seed,
                steps: None, train_seconds: Some(4.0), eval_every_seconds: Some(2.0),
            };
            crate::run::write_json(&run.path.join("sweep.json"), &record).unwrap();
            let protocol = Protocol { extractor: "lenet".into(), layer: "fc1".into(), n_real: 9, n_fake: 9, real_split: "holdout".into(), seed: 7, sampling: Default::default() };
            let rows: Vec<QualityRow> = evals.iter().map(|&(step, train_s, fld)| QualityRow { train_s, ..QualityRow::for_test(step, fld, protocol.clone()) }).collect();
            write_quality(&run.quality_path(), &rows).unwrap();
        }
        let table = RunTable::load(&root).unwrap();
        let [curve] = &table.quality_curves("fld", Progress::TrainSeconds).unwrap()[..] else { panic!("one configuration") };
        let points: Vec<(f64, f64, usize)> = curve.points.iter().map(|p| ((p.x * 100.0).round() / 100.0, p.mean, p.runs)).collect();
        assert_eq!(points, [(2.1, 300.0, 1), (4.4, 120.0, 2)], "not (2 s with 4.6 s, then 4.2 s alone)");
        let by_images = table.quality_curves("fld", Progress::Images).unwrap();
        assert_eq!(by_images[0].points.iter().map(|p| p.runs).collect::<Vec<_>>(), [1, 2], "the same points against images");
        let _ = std::fs::remove_dir_all(&root);
    }
}
