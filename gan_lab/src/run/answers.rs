//! The answer table of a sweep: for each axis (activation, BatchNorm, optimiser, loss, backend…),
//! each value against a named baseline, all other axes held at the baseline — the difference in
//! a metric over seeds with Welch's interval, and the verdict: better, worse or within noise.

use polars::prelude::*;
use std::collections::BTreeSet;

use super::interval::{welch, Difference, Verdict};
use super::table::AXIS_PREFIX;
use super::reach::lower_is_better;
use super::{column, RunTable};
use crate::error::{Error, Result};
use crate::report::format_number;

/// What the answer table compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// A numeric run-table column at each run's end (`fld`, `recall`, `images_per_s`…).
    Final(String),
    /// Training seconds until a quality metric first reached `threshold` (at or below it for a
    /// metric where lower is better, at or above it otherwise). Runs that never did are counted,
    /// not averaged.
    TimeTo { metric: String, threshold: f64 },
}

impl Measure {
    /// `fld`, or `seconds to fld ≤ 50`.
    pub fn label(&self) -> String {
        match self {
            Measure::Final(m) => m.clone(),
            Measure::TimeTo { metric, threshold } => {
                let op = if lower_is_better(metric).unwrap_or(true) { "≤" } else { "≥" };
                format!("seconds to {metric} {op} {threshold}")
            }
        }
    }

    fn lower_is_better(&self) -> Result<bool> {
        match self {
            Measure::Final(m) => lower_is_better(m),
            Measure::TimeTo { metric, .. } => lower_is_better(metric).map(|_| true),
        }
    }
}

impl RunTable {
    /// The axes of the sweeps these runs belong to that take more than one value here, with
    /// their values (sorted): the `axis.*` columns and `backend`.
    pub fn axes(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut names: Vec<String> = self.frame.get_column_names().iter().filter_map(|c| c.strip_prefix(AXIS_PREFIX)).map(str::to_string).collect();
        names.push("backend".into());
        let mut axes = Vec::new();
        for name in names {
            let values: BTreeSet<String> = self.axis_values(&name)?.into_iter().flatten().collect();
            if values.len() > 1 {
                axes.push((name, values.into_iter().collect()));
            }
        }
        Ok(axes)
    }

    fn axis_values(&self, axis: &str) -> Result<Vec<Option<String>>> {
        let name = if axis == "backend" { axis.to_string() } else { format!("{AXIS_PREFIX}{axis}") };
        let col = column(&self.frame, &name)?.str().map_err(|e| Error::table(format!("run table column '{name}'"), e))?.clone();
        Ok((0..col.len()).map(|i| col.get(i).map(str::to_string)).collect())
    }

    /// The answer table: for every axis and every value other than the baseline's, the runs at
    /// that value with every other axis at the baseline, against the runs at the baseline.
    /// `baseline` names one value for each axis that varies (see [`RunTable::axes`]); `level` is
    /// the intervals' confidence level (0.95 for 95 %).
    pub fn answers(&self, baseline: &[(String, String)], measure: &Measure, level: f64) -> Result<AnswerTable> {
        let lower = measure.lower_is_better()?;
        let axes = self.axes()?;
        let mut problems = Vec::new();
        for (name, value) in baseline {
            match axes.iter().find(|(a, _)| a == name) {
                None => problems.push(format!(
                    "'{name}' is not an axis that varies in these runs; the axes are {}",
                    if axes.is_empty() { "none (one configuration)".into() } else { axes.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", ") }
                )),
                Some((_, values)) if !values.contains(value) => problems.push(format!("axis '{name}' has no value '{value}' here; it has {}", values.join(", "))),
                Some(_) => {}
            }
        }
        for (name, values) in &axes {
            if !baseline.iter().any(|(b, _)| b == name) {
                problems.push(format!("name the baseline of axis '{name}' ({name}=VALUE; its values are {})", values.join(", ")));
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidConfig(problems));
        }
        let values = self.measured(measure)?;
        let axis_of_row: Vec<(String, Vec<Option<String>>)> = axes.iter().map(|(a, _)| Ok((a.clone(), self.axis_values(a)?))).collect::<Result<_>>()?;
        let base_of = |axis: &str| baseline.iter().find(|(a, _)| a == axis).map(|(_, v)| v.as_str());
        // The rows where every axis but `free` is at the baseline and `free` is at `value`.
        let rows_at = |free: &str, value: &str| -> Vec<usize> {
            (0..self.len())
                .filter(|&r| axis_of_row.iter().all(|(a, col)| col[r].as_deref() == Some(if a == free { value } else { base_of(a).unwrap_or_default() })))
                .collect()
        };
        let protocols = column(&self.frame, "quality_protocol")?.str().map_err(|e| Error::table("run table column 'quality_protocol'", e))?.clone();
        let uses_quality = match measure {
            Measure::Final(m) => super::table::QUALITY_COLUMNS.contains(&m.as_str()),
            Measure::TimeTo { .. } => true,
        };
        let base_rows = rows_at("", "");
        let mut rows = Vec::new();
        for (axis, axis_values) in &axes {
            let base_value = base_of(axis).unwrap_or_default();
            for value in axis_values.iter().filter(|v| v.as_str() != base_value) {
                let these = rows_at(axis, value);
                if uses_quality {
                    let seen: BTreeSet<&str> = these.iter().chain(&base_rows).filter(|&&r| values[r].is_some()).filter_map(|&r| protocols.get(r)).collect();
                    if seen.len() > 1 {
                        return Err(Error::Other(format!(
                            "{axis}={value} against the baseline mixes quality numbers of {} protocols ({}): they are not comparable; evaluate every run with one protocol",
                            seen.len(),
                            seen.into_iter().collect::<Vec<_>>().join(" | ")
                        )));
                    }
                }
                let pick = |rows: &[usize]| -> (Vec<f64>, usize) {
                    let v: Vec<f64> = rows.iter().filter_map(|&r| values[r]).filter(|v| v.is_finite()).collect();
                    let missing = rows.len() - v.len();
                    (v, missing)
                };
                let ((x, x_missing), (y, y_missing)) = (pick(&these), pick(&base_rows));
                let difference = (x.len() >= 2 && y.len() >= 2).then(|| welch(&x, &y, level)).transpose()?;
                rows.push(Answer {
                    axis: axis.clone(),
                    value: value.clone(),
                    baseline: base_value.to_string(),
                    mean: mean(&x),
                    baseline_mean: mean(&y),
                    runs: (x.len(), x_missing),
                    baseline_runs: (y.len(), y_missing),
                    verdict: difference.map(|d| d.verdict(lower)),
                    difference,
                });
            }
        }
        Ok(AnswerTable { measure: measure.clone(), level, rows })
    }
}

impl RunTable {
    /// The measure of every run (None where a run has none).
    fn measured(&self, measure: &Measure) -> Result<Vec<Option<f64>>> {
        match measure {
            Measure::Final(metric) => self.numbers(metric),
            Measure::TimeTo { metric, threshold } => self.time_to_quality(metric, *threshold),
        }
    }

    /// The axis values of the combination whose runs have the best mean `measure` (finite values
    /// only), as a baseline for [`RunTable::answers`]: what the best configuration is, and then
    /// whether anything else can be told apart from it.
    pub fn best_baseline(&self, measure: &Measure) -> Result<Vec<(String, String)>> {
        let lower = measure.lower_is_better()?;
        let values = self.measured(measure)?;
        let axes = self.axes()?;
        let columns: Vec<Vec<Option<String>>> = axes.iter().map(|(a, _)| self.axis_values(a)).collect::<Result<_>>()?;
        let mut sums: std::collections::BTreeMap<Vec<Option<String>>, (f64, usize)> = Default::default();
        for (row, value) in values.iter().enumerate() {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                let entry = sums.entry(columns.iter().map(|c| c[row].clone()).collect()).or_default();
                *entry = (entry.0 + v, entry.1 + 1);
            }
        }
        let better = |a: f64, b: f64| if lower { a < b } else { a > b };
        let best = sums.into_iter().map(|(combo, (sum, n))| (combo, sum / n as f64)).fold(None, |best: Option<(Vec<Option<String>>, f64)>, (combo, m)| match best {
            Some((_, b)) if !better(m, b) => best,
            _ => Some((combo, m)),
        });
        let Some((combo, _)) = best else {
            return Err(Error::Other(format!("no run here has a value of {}, so none is best", measure.label())));
        };
        Ok(axes.into_iter().zip(combo).map(|((axis, _), value)| (axis, value.unwrap_or_default())).collect())
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// One value of one axis against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub axis: String,
    pub value: String,
    pub baseline: String,
    /// Mean of the measure over this value's runs, and over the baseline's.
    pub mean: Option<f64>,
    pub baseline_mean: Option<f64>,
    /// (runs with a value, runs without one: diverged, not evaluated, or never reached the threshold).
    pub runs: (usize, usize),
    pub baseline_runs: (usize, usize),
    /// mean − baseline mean with Welch's interval (None with fewer than 2 runs on either side).
    pub difference: Option<Difference>,
    /// None with fewer than 2 runs on either side.
    pub verdict: Option<Verdict>,
}

/// The answers for one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerTable {
    pub measure: Measure,
    pub level: f64,
    pub rows: Vec<Answer>,
}

impl AnswerTable {
    /// The answer for `axis` = `value`.
    pub fn get(&self, axis: &str, value: &str) -> Option<&Answer> {
        self.rows.iter().find(|r| r.axis == axis && r.value == value)
    }

    /// One row per answer: axis, value, baseline, runs, the two means, the difference, the
    /// interval's ends and the verdict.
    pub fn frame(&self) -> Result<DataFrame> {
        let r = &self.rows;
        let text = |name: &str, f: &dyn Fn(&Answer) -> String| Column::new(name.into(), r.iter().map(f).collect::<Vec<_>>());
        let num = |name: &str, f: &dyn Fn(&Answer) -> Option<f64>| Column::new(name.into(), r.iter().map(f).collect::<Vec<_>>());
        let count = |(n, missing): (usize, usize)| if missing == 0 { n.to_string() } else { format!("{n} of {}", n + missing) };
        let columns = vec![
            text("axis", &|a| a.axis.clone()),
            text("value", &|a| a.value.clone()),
            text("baseline", &|a| a.baseline.clone()),
            text("runs", &|a| count(a.runs)),
            text("baseline_runs", &|a| count(a.baseline_runs)),
            num("mean", &|a| a.mean),
            num("baseline_mean", &|a| a.baseline_mean),
            num("difference", &|a| a.difference.map(|d| d.diff)),
            num("low", &|a| a.difference.map(|d| d.low)),
            num("high", &|a| a.difference.map(|d| d.high)),
            text("verdict", &|a| a.verdict.map_or("too few runs".into(), |v| v.as_str().to_string())),
        ];
        DataFrame::new(r.len(), columns).map_err(|e| Error::table("building the answer table", e))
    }

    /// The table as sentences, generated from its numbers: the baseline's mean, then each value
    /// against it with the difference, its interval and the verdict.
    pub fn conclusion(&self) -> String {
        let Some(first) = self.rows.first() else { return format!("{}: nothing to compare (one configuration)", self.measure.label()) };
        let label = self.measure.label();
        let number = |v: Option<f64>| v.map_or("–".to_string(), format_number);
        let baseline: Vec<String> = self.rows.iter().map(|a| format!("{}={}", a.axis, a.baseline)).collect::<BTreeSet<_>>().into_iter().collect();
        let mut text = format!("Baseline {}: {label} {} ({} runs).", baseline.join(", "), number(first.baseline_mean), first.baseline_runs.0);
        for a in &self.rows {
            let verdict = match (a.verdict, a.difference) {
                (Some(v), Some(d)) => format!(
                    "{} (difference {}, {:.0} % interval {} to {})",
                    v.as_str(),
                    format_number(d.diff),
                    self.level * 100.0,
                    format_number(d.low),
                    format_number(d.high)
                ),
                _ => "too few runs to judge".to_string(),
            };
            text.push_str(&format!(" {}={}: {label} {} ({} runs), {verdict}.", a.axis, a.value, number(a.mean), a.runs.0));
        }
        text
    }

    /// What the table shows, in one sentence (a caption).
    pub fn caption(&self) -> String {
        format!(
            "{}: each value against the baseline with every other axis at the baseline; difference = mean − baseline mean, {:.0} % Welch interval over seeds (low, high); \"better\"/\"worse\" when the interval excludes 0, else \"within noise\"; runs \"n of m\": m − n had no value",
            self.measure.label(),
            self.level * 100.0
        )
    }
}

/// The caption, then the table with numbers to four significant digits (the frame keeps them all).
impl std::fmt::Display for AnswerTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rounded = self.frame().and_then(|df| {
            let columns: Vec<Column> = df
                .columns()
                .iter()
                .map(|c| match c.f64() {
                    Ok(v) => Column::new(c.name().clone(), v.iter().map(|x| x.map_or("–".to_string(), format_number)).collect::<Vec<_>>()),
                    Err(_) => c.clone(),
                })
                .collect();
            DataFrame::new(df.height(), columns).map_err(|e| Error::table("rounding the answer table", e))
        });
        match rounded {
            Ok(df) => write!(f, "{}\n{df}", self.caption()),
            Err(e) => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::RunDir;

    #[test]
    fn metrics_without_a_direction_are_refused_by_name() {
        let err = lower_is_better("density").unwrap_err().to_string();
        assert!(err.contains("'density'") && err.contains("fld"), "{err}");
        assert!(lower_is_better("fld").unwrap() && !lower_is_better("recall").unwrap());
        assert_eq!(Measure::TimeTo { metric: "fld".into(), threshold: 50.0 }.label(), "seconds to fld ≤ 50");
    }

    /// A sweep of activation × optimizer in run folders, each run's FLD at its last evaluation
    /// taken from the arrays of `reference/intervals.py`.
    fn study(root: &std::path::Path, other_protocol_for: Option<(&str, &str)>) -> RunTable {
        use crate::run::{write_json, write_metrics, write_quality, MetricsRow, Protocol, QualityRow};
        let _ = std::fs::remove_dir_all(root);
        let groups: [(&str, &str, &[f64]); 4] = [
            ("leaky_relu", "adam", &[851.0, 820.5, 881.9, 859.3]),
            ("relu", "adam", &[1536.0, 1431.7, 1640.2, 1588.9, 1480.3]),
            ("leaky_relu", "sgd", &[935.2, 861.0, 1009.4]),
            ("relu", "sgd", &[700.0]),
        ];
        for (activation, optimizer, flds) in groups {
            for (seed, &fld) in flds.iter().enumerate() {
                let mut cfg = crate::config::preset("mlp-gan").unwrap();
                cfg.seed = seed as u64;
                let run = RunDir::create(root, &cfg).unwrap();
                let values = serde_json::json!({ "activation": activation, "optimizer": optimizer });
                let record = crate::sweep::SweepRecord {
                    plan: "study".into(), plan_hash: "0".into(), run_id: run.name(), values: values.as_object().unwrap().clone(), backend: "flex".into(),
                    seed: seed as u64, steps: Some(100), train_seconds: None, eval_every_seconds: None,
                };
                write_json(&run.path.join("sweep.json"), &record).unwrap();
                write_metrics(&run.metrics_path(), &[MetricsRow::for_test(50, 10.0), MetricsRow::for_test(100, 20.0)]).unwrap();
                let layer = if other_protocol_for == Some((activation, optimizer)) && seed == 0 { "fc2" } else { "fc1" };
                // The sample seed follows the run's seed, as in training: not a protocol difference.
                let protocol = Protocol { extractor: "lenet".into(), layer: layer.into(), n_real: 9, n_fake: 9, real_split: "holdout".into(), seed: 100 + seed as u64, sampling: Default::default() };
                write_quality(&run.quality_path(), &[QualityRow::for_test(50, 2.0 * fld, protocol.clone()), QualityRow::for_test(100, fld, protocol)]).unwrap();
            }
        }
        // A run outside the sweep (no sweep.json) takes part in no answer.
        RunDir::create(root, &crate::config::preset("dcgan28").unwrap()).unwrap();
        RunTable::load(root).unwrap()
    }

    fn baseline(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, v)| (a.to_string(), v.to_string())).collect()
    }

    #[test]
    fn each_value_against_the_baseline_with_welch_intervals_from_the_run_folders() {
        let root = crate::test_scratch_dir("answers");
        let table = study(&root, None);
        assert_eq!(table.len(), 14);
        let axes = table.axes().unwrap();
        assert_eq!(axes, vec![("activation".to_string(), vec!["leaky_relu".to_string(), "relu".to_string()]), ("optimizer".to_string(), vec!["adam".to_string(), "sgd".to_string()])]);
        let base = baseline(&[("activation", "leaky_relu"), ("optimizer", "adam")]);
        let fld = table.answers(&base, &Measure::Final("fld".into()), 0.95).unwrap();
        assert_eq!(fld.rows.len(), 2, "one row per non-baseline value: {fld}");
        // scipy (reference/intervals.py): relu-adam (b) against leaky_relu-adam (c), and leaky_relu-sgd (a) against it.
        let relu = fld.get("activation", "relu").unwrap();
        let d = relu.difference.unwrap();
        assert!((d.diff - 682.2449999999999).abs() < 1e-9 && (d.low - 580.640595794643).abs() < 1e-7 && (d.high - 783.8494042053568).abs() < 1e-7, "{d:?}");
        assert_eq!((relu.verdict, relu.runs, relu.baseline_runs), (Some(Verdict::Worse), (5, 0), (4, 0)));
        let sgd = fld.get("optimizer", "sgd").unwrap();
        let d = sgd.difference.unwrap();
        assert!((d.low - -84.96958955696155).abs() < 1e-7 && (d.high - 249.0195895569615).abs() < 1e-7, "{d:?}");
        assert_eq!(sgd.verdict, Some(Verdict::WithinNoise), "relu-sgd, with one seed, is in neither comparison");
        let shown = fld.to_string();
        assert!(shown.contains("within noise") && shown.contains("worse") && shown.contains("95 % Welch interval"), "{shown}");
        let text = fld.conclusion();
        assert!(text.starts_with("Baseline activation=leaky_relu, optimizer=adam: fld 853.2 (4 runs). "), "{text}");
        assert!(text.contains(" activation=relu: fld 1535 (5 runs), worse (difference 682.2, 95 % interval 580.6 to 783.8)."), "{text}");
        // (82.025 exactly: its last digit depends on the order the runs are summed in, which is the folder's)
        assert!(text.contains(" optimizer=sgd: fld 935.2 (3 runs), within noise (difference 82.0") && text.ends_with(", 95 % interval -84.97 to 249.0)."), "{text}");
        // The best mean is the baseline the rest is judged against: here relu-sgd's single run.
        let best = table.best_baseline(&Measure::Final("fld".into())).unwrap();
        assert_eq!(best, baseline(&[("activation", "relu"), ("optimizer", "sgd")]));
        let against_best = table.answers(&best, &Measure::Final("fld".into()), 0.95).unwrap();
        assert!(against_best.rows.iter().all(|a| a.verdict.is_none()), "one run cannot be judged: {against_best}");
        assert!(against_best.conclusion().contains("too few runs to judge"));
        let err = table.best_baseline(&Measure::Final("mode_kl".into())).unwrap_err().to_string();
        assert!(err.contains("no run here has a value of mode_kl"), "{err}");

        // Time to FLD ≤ 900: the baseline's four runs at step 100 (20 s), one of leaky_relu-sgd's three, no relu-adam run.
        let reach = table.answers(&base, &Measure::TimeTo { metric: "fld".into(), threshold: 900.0 }, 0.95).unwrap();
        let sgd = reach.get("optimizer", "sgd").unwrap();
        assert_eq!((sgd.runs, sgd.baseline_runs, sgd.verdict, sgd.mean, sgd.baseline_mean), ((1, 2), (4, 0), None, Some(20.0), Some(20.0)));
        assert_eq!(reach.get("activation", "relu").unwrap().runs, (0, 5));
        let frame = reach.frame().unwrap();
        assert_eq!(column(&frame, "runs").unwrap().str().unwrap().get(1), Some("1 of 3"));
        assert_eq!(column(&frame, "verdict").unwrap().str().unwrap().get(1), Some("too few runs"));
        let times = table.time_to_quality("fld", 1800.0).unwrap();
        assert_eq!(times.iter().filter(|t| **t == Some(10.0)).count(), 6, "2 × FLD ≤ 1800 at step 50 (10 s) for the 6 runs that end below 900");
        assert_eq!(times.iter().filter(|t| **t == Some(20.0)).count(), 7, "the other sweep runs at step 100 (20 s)");
        assert_eq!(times.iter().filter(|t| t.is_none()).count(), 1, "the run never evaluated");

        // Grouped by the axis columns: time to FLD ≤ 900 over the runs that got there, and how many did.
        let grouped = table.with_time_to_quality("fld", 900.0).unwrap().group_by(&["axis.activation", "axis.optimizer"]).unwrap();
        let compact = grouped.compact().unwrap();
        let cell = |name: &str, row: usize| column(&compact, name).unwrap().str().unwrap().get(row).map(str::to_string);
        let rows: Vec<(Option<String>, Option<String>, Option<String>, Option<String>)> =
            (0..grouped.len()).map(|i| (cell("axis.activation", i), cell("axis.optimizer", i), cell("time_to_quality", i), cell("reached", i))).collect();
        let row = |a: &str, o: &str| rows.iter().find(|r| r.0.as_deref() == Some(a) && r.1.as_deref() == Some(o)).map(|r| (r.2.clone().unwrap(), r.3.clone().unwrap()));
        assert_eq!(row("leaky_relu", "adam"), Some(("20.00 ± 0".into(), "4 of 4".into())), "{compact}");
        assert_eq!(row("leaky_relu", "sgd"), Some(("20.00".into(), "1 of 3".into())), "{compact}");
        assert_eq!(row("relu", "adam"), Some(("–".into(), "0 of 5".into())), "{compact}");
        assert!(column(&compact, "cost_to_quality").is_err(), "no run has a price: no cost column");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_missing_or_unknown_baseline_and_mixed_protocols_are_errors_that_name_them() {
        let root = crate::test_scratch_dir("answers_errors");
        let table = study(&root, Some(("relu", "adam")));
        let m = Measure::Final("fld".into());
        let err = table.answers(&baseline(&[("activation", "leaky_relu")]), &m, 0.95).unwrap_err().to_string();
        assert!(err.contains("baseline of axis 'optimizer'") && err.contains("adam, sgd"), "{err}");
        let err = table.answers(&baseline(&[("activation", "gelu"), ("optimizer", "adam"), ("colour", "red")]), &m, 0.95).unwrap_err().to_string();
        assert!(err.contains("no value 'gelu'") && err.contains("leaky_relu, relu") && err.contains("'colour' is not an axis"), "{err}");
        let base = baseline(&[("activation", "leaky_relu"), ("optimizer", "adam")]);
        let err = table.answers(&base, &m, 0.95).unwrap_err().to_string();
        assert!(err.contains("activation=relu") && err.contains("2 protocols") && err.contains("fc2"), "{err}");
        assert!(table.answers(&base, &Measure::Final("images_per_s".into()), 0.95).is_ok(), "throughput has no protocol");
        let err = table.answers(&base, &Measure::Final("density".into()), 0.95).unwrap_err().to_string();
        assert!(err.contains("'density' has no better direction"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
