//! Runs grouped by configuration (or any columns): count, mean and standard deviation of every
//! number a run records — the comparison table of a sweep over seeds.

use polars::prelude::*;

use super::{column, RunTable};
use crate::error::{Error, Result};
use crate::report::{format_number, format_spread};

/// The numbers averaged per group, in table order.
pub const GROUPED_METRICS: [&str; 16] = [
    "images_per_s", "train_s", "d_loss", "g_loss", "d_real", "d_fake", "cost_usd", "fld", "kid", "precision", "recall", "density", "coverage",
    "class_coverage", "modes", "mode_kl",
];

/// Averaged too when the table has them ([`RunTable::with_time_to_quality`] adds them).
pub const REACH_METRICS: [&str; 2] = ["time_to_quality", "cost_to_quality"];

/// `config` stands for the configuration without its seed, on one backend.
const CONFIG_KEY: [&str; 3] = ["config", "backend", "config_key"];

/// One row per group: the key columns, `runs`, `seeds`, `diverged`, then `<metric>_mean`,
/// `<metric>_std` (sample standard deviation, n − 1) and `<metric>_n` (runs with a finite value)
/// for each of [`GROUPED_METRICS`].
#[derive(Debug, Clone)]
pub struct GroupedTable {
    pub frame: DataFrame,
    /// The key columns.
    pub by: Vec<String>,
}

/// Mean and sample standard deviation of the finite values (std needs two of them).
pub fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return (None, None);
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.len() > 1).then(|| (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    // Equal values can leave rounding noise (1e-17) in the sum of squares: that is a std of 0.
    let std = std.map(|s| if s <= 1e-12 * mean.abs().max(1.0) { 0.0 } else { s });
    (Some(mean), std)
}

fn texts(table: &RunTable, name: &str) -> Result<Vec<String>> {
    let col = column(&table.frame, name)?.cast(&DataType::String).map_err(|e| Error::table(format!("run table column '{name}' as text"), e))?;
    let col = col.str().map_err(|e| Error::table(format!("run table column '{name}'"), e))?;
    Ok((0..col.len()).map(|i| col.get(i).unwrap_or("–").to_string()).collect())
}

impl RunTable {
    /// Groups the runs by the given columns (`config` = configuration without seed × backend) and
    /// averages every number over each group. Groups keep the order of their first run.
    pub fn group_by(&self, by: &[&str]) -> Result<GroupedTable> {
        let (keys, groups) = self.groups(by)?;
        self.aggregate(keys, groups)
    }

    /// The key columns `by` stands for, and the groups: each one's key values and its rows, in
    /// the order of their first run.
    pub(super) fn groups(&self, by: &[&str]) -> Result<(Vec<String>, Vec<(Vec<String>, Vec<usize>)>)> {
        if by.is_empty() {
            return Err(Error::Other("group by what? give at least one column, e.g. config".into()));
        }
        let mut keys: Vec<String> = Vec::new();
        for b in by {
            let expanded: Vec<&str> = if *b == "config" { CONFIG_KEY.to_vec() } else { vec![*b] };
            for k in expanded {
                if !keys.iter().any(|x| x == k) {
                    keys.push(k.to_string());
                }
            }
        }
        let key_text: Vec<Vec<String>> = keys.iter().map(|k| texts(self, k)).collect::<Result<_>>()?;
        let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
        for row in 0..self.len() {
            let key: Vec<String> = key_text.iter().map(|col| col[row].clone()).collect();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, rows)) => rows.push(row),
                None => groups.push((key, vec![row])),
            }
        }
        Ok((keys, groups))
    }

    /// [`GROUPED_METRICS`], then those of [`REACH_METRICS`] this table has.
    fn grouped_metrics(&self) -> Vec<&'static str> {
        GROUPED_METRICS.into_iter().chain(REACH_METRICS.into_iter().filter(|m| column(&self.frame, m).is_ok())).collect()
    }

    /// A copy with two more columns: `time_to_quality`, the training seconds at which each run
    /// first had `metric` at `threshold` or better ([`RunTable::time_to_quality`]), and
    /// `cost_to_quality`, that time at the run's price (its cost ÷ its training time). Grouped,
    /// they are averaged over the runs that got there, and `reached` counts them.
    pub fn with_time_to_quality(&self, metric: &str, threshold: f64) -> Result<RunTable> {
        let times = self.time_to_quality(metric, threshold)?;
        let (cost, train) = (self.numbers("cost_usd")?, self.numbers("train_s")?);
        let costs: Vec<Option<f64>> = times
            .iter()
            .zip(cost.iter().zip(&train))
            .map(|(t, (c, s))| match (t, c, s) {
                (Some(t), Some(c), Some(s)) if *s > 0.0 => Some(t * c / s),
                _ => None,
            })
            .collect();
        let mut frame = self.frame.clone();
        for (name, values) in [("time_to_quality", times), ("cost_to_quality", costs)] {
            frame.with_column(Column::new(name.into(), values)).map_err(|e| Error::table(format!("adding column '{name}'"), e))?;
        }
        Ok(RunTable { frame, paths: self.paths.clone(), problems: self.problems.clone() })
    }

    fn aggregate(&self, keys: Vec<String>, groups: Vec<(Vec<String>, Vec<usize>)>) -> Result<GroupedTable> {
        let seeds = self.numbers("seed")?;
        let status = texts(self, "status")?;
        let mut columns: Vec<Column> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let values: Vec<String> = groups.iter().map(|(key, _)| key[i].clone()).collect();
            columns.push(Column::new(k.as_str().into(), values));
        }
        columns.push(Column::new("runs".into(), groups.iter().map(|(_, rows)| rows.len() as u32).collect::<Vec<_>>()));
        let seed_list = |rows: &Vec<usize>| {
            let mut s: Vec<u64> = rows.iter().filter_map(|&r| seeds[r]).map(|s| s as u64).collect();
            s.sort_unstable();
            s.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
        };
        columns.push(Column::new("seeds".into(), groups.iter().map(|(_, rows)| seed_list(rows)).collect::<Vec<_>>()));
        columns.push(Column::new("diverged".into(), groups.iter().map(|(_, rows)| rows.iter().filter(|&&r| status[r] == "diverged").count() as u32).collect::<Vec<_>>()));
        for m in self.grouped_metrics() {
            let values = self.numbers(m)?;
            let stats: Vec<(Option<f64>, Option<f64>, u32)> = groups
                .iter()
                .map(|(_, rows)| {
                    let v: Vec<f64> = rows.iter().filter_map(|&r| values[r]).collect();
                    let (mean, std) = mean_std(&v);
                    (mean, std, v.iter().filter(|x| x.is_finite()).count() as u32)
                })
                .collect();
            columns.push(Column::new(format!("{m}_mean").into(), stats.iter().map(|s| s.0).collect::<Vec<_>>()));
            columns.push(Column::new(format!("{m}_std").into(), stats.iter().map(|s| s.1).collect::<Vec<_>>()));
            columns.push(Column::new(format!("{m}_n").into(), stats.iter().map(|s| s.2).collect::<Vec<_>>()));
        }
        let frame = DataFrame::new(groups.len(), columns).map_err(|e| Error::table("building the grouped run table", e))?;
        Ok(GroupedTable { frame, by: keys })
    }
}

impl GroupedTable {
    /// Number of groups.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// True when there are no groups.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (mean, std) of `metric` per group.
    pub fn stats(&self, metric: &str) -> Result<Vec<(Option<f64>, Option<f64>)>> {
        let get = |name: String| -> Result<Vec<Option<f64>>> {
            let c = column(&self.frame, &name)?;
            let c = c.f64().map_err(|e| Error::table(format!("grouped column '{name}'"), e))?;
            Ok((0..c.len()).map(|i| c.get(i)).collect())
        };
        Ok(get(format!("{metric}_mean"))?.into_iter().zip(get(format!("{metric}_std"))?).collect())
    }

    /// A label per group: its key values joined by " · " (the configuration key hash left out).
    pub fn labels(&self) -> Vec<String> {
        let shown: Vec<&String> = self.by.iter().filter(|k| k.as_str() != "config_key").collect();
        (0..self.len())
            .map(|i| {
                shown
                    .iter()
                    .filter_map(|k| column(&self.frame, k).ok().and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string))))
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .collect()
    }

    /// The readable table: key columns, runs, seeds, and `mean ± std` for every metric any group
    /// has (the frame keeps the numbers).
    pub fn compact(&self) -> Result<DataFrame> {
        let mut columns: Vec<Column> = Vec::new();
        for k in self.by.iter().filter(|k| k.as_str() != "config_key") {
            columns.push(column(&self.frame, k)?.clone());
        }
        for k in ["runs", "seeds"] {
            columns.push(column(&self.frame, k)?.clone());
        }
        let diverged = column(&self.frame, "diverged")?;
        if diverged.u32().map(|c| (0..c.len()).any(|i| c.get(i).unwrap_or(0) > 0)).unwrap_or(false) {
            columns.push(diverged.clone());
        }
        for m in GROUPED_METRICS.into_iter().chain(REACH_METRICS.into_iter().filter(|m| column(&self.frame, &format!("{m}_mean")).is_ok())) {
            let stats = self.stats(m)?;
            if stats.iter().all(|(mean, _)| mean.is_none()) {
                continue;
            }
            let cells: Vec<String> = stats
                .iter()
                .map(|(mean, std)| match (mean, std) {
                    (Some(m), Some(s)) => format_spread(*m, *s),
                    (Some(m), None) => format_number(*m),
                    _ => "–".into(),
                })
                .collect();
            columns.push(Column::new(m.into(), cells));
            if m == "time_to_quality" {
                // The share of a group's runs that reached the threshold at all.
                let reached = column(&self.frame, "time_to_quality_n")?.u32().map_err(|e| Error::table("grouped column 'time_to_quality_n'", e))?.clone();
                let runs = column(&self.frame, "runs")?.u32().map_err(|e| Error::table("grouped column 'runs'", e))?.clone();
                let cells: Vec<String> = (0..self.len()).map(|i| format!("{} of {}", reached.get(i).unwrap_or(0), runs.get(i).unwrap_or(0))).collect();
                columns.push(Column::new("reached".into(), cells));
            }
        }
        DataFrame::new(self.len(), columns).map_err(|e| Error::table("building the compact grouped table", e))
    }

    /// One bar per group: the mean of `metric`, with ± one standard deviation as whiskers.
    pub fn bar_chart(&self, metric: &str, title: &str) -> Result<crate::report::Chart> {
        let bars: Vec<crate::report::Bar> = self
            .labels()
            .into_iter()
            .zip(self.stats(metric)?)
            .filter_map(|(label, (mean, std))| mean.map(|value| crate::report::Bar { label, value, error: std }))
            .collect();
        let runs: u32 = column(&self.frame, "runs")?.u32().map_err(|e| Error::table("grouped column 'runs'", e))?.sum().unwrap_or(0);
        let caption = format!(
            "{} groups, {runs} runs in all; bars: the mean of {metric} at each run's last step, whiskers: ± one standard deviation over a group's runs (seeds)",
            self.len()
        );
        Ok(crate::report::Chart::bars(title, &format!("{} (mean ± std over seeds)", crate::run::metric_label(metric)), &bars)?.with_caption(caption))
    }
}

/// The compact table.
impl std::fmt::Display for GroupedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.compact() {
            Ok(df) => write!(f, "{df}"),
            Err(_) => write!(f, "{}", self.frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{write_json, RunDir, Summary};

    #[test]
    fn mean_and_sample_std_match_numpy() {
        // numpy: np.mean([1, 2, 4]) = 2.3333333333333335, np.std([1, 2, 4], ddof=1) = 1.5275252316519468
        let (m, s) = mean_std(&[1.0, 2.0, 4.0, f64::NAN]);
        assert!((m.unwrap() - 2.3333333333333335).abs() < 1e-15);
        assert!((s.unwrap() - 1.5275252316519468).abs() < 1e-15);
        assert_eq!(mean_std(&[5.0]), (Some(5.0), None));
        assert_eq!(mean_std(&[0.1, 0.1, 0.1]), (Some(0.10000000000000002), Some(0.0)));
        assert_eq!(mean_std(&[]), (None, None));
    }

    #[test]
    fn runs_that_differ_only_in_seed_form_one_group() {
        let root = crate::test_scratch_dir("group");
        let _ = std::fs::remove_dir_all(&root);
        let base = crate::config::preset("mlp-gan").unwrap();
        let mut other = base.clone();
        other.train.batch_size = 32; // same name, another configuration
        let summary = |ips: f64, finite: bool| Summary {
            steps: 20, epochs: 0.1, images_seen: 1280, train_seconds: 4.0, images_per_s: ips, d_loss: if finite { 1.0 } else { f64::NAN }, g_loss: 0.8,
            d_real: 0.55, d_fake: 0.45, finite, last_sample: None, last_checkpoint: None, cost_usd: None, finished_unix: 0.0,
        };
        for (seed, ips, cfg, finite) in [(0, 100.0, &base, true), (1, 200.0, &base, true), (2, 400.0, &base, false), (0, 50.0, &other, true)] {
            let mut c = cfg.clone();
            c.seed = seed;
            c.train.steps = 10 + seed; // the step budget does not split groups
            let run = RunDir::create(&root, &c).unwrap();
            write_json(&run.summary_path(), &summary(ips, finite)).unwrap();
        }
        let table = RunTable::load(&root).unwrap();
        let grouped = table.group_by(&["config"]).unwrap();
        assert_eq!(grouped.len(), 2, "{}", grouped.frame);
        let row = (0..2).find(|&i| column(&grouped.frame, "runs").unwrap().u32().unwrap().get(i) == Some(3)).unwrap();
        let (mean, std) = grouped.stats("images_per_s").unwrap()[row];
        assert!((mean.unwrap() - 233.33333333333334).abs() < 1e-9);
        assert!((std.unwrap() - 152.7525231651947).abs() < 1e-9);
        // d_loss is NaN in the diverged run: averaged over the two finite ones.
        assert_eq!(grouped.stats("d_loss").unwrap()[row], (Some(1.0), Some(0.0)));
        assert_eq!(column(&grouped.frame, "seeds").unwrap().str().unwrap().get(row), Some("0,1,2"));
        assert_eq!(column(&grouped.frame, "diverged").unwrap().u32().unwrap().get(row), Some(1));
        let compact = grouped.compact().unwrap();
        assert_eq!(column(&compact, "images_per_s").unwrap().str().unwrap().get(row), Some("233 ± 153"));
        assert!(grouped.to_string().contains("shape: (2,"));
        assert!(grouped.labels()[row].starts_with("mlp-gan · "), "{:?}", grouped.labels());
        let bars = grouped.bar_chart("images_per_s", "throughput").unwrap();
        assert!(bars.svg.contains("<svg") && bars.svg.contains("images/s in training steps (mean ± std over seeds)"));
        assert!(bars.caption.starts_with("2 groups, 4 runs in all; bars: the mean of images_per_s"), "{}", bars.caption);
        let by_batch = table.group_by(&["batch"]).unwrap();
        assert_eq!(by_batch.len(), 2);
        let err = table.group_by(&["colour"]).unwrap_err().to_string();
        assert!(err.contains("column 'colour'") && err.contains("images_per_s"), "{err}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
