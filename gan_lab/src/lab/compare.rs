//! Side-by-side views for the comparison notebooks: run tables as charts, platform tables.

use polars::prelude::*;

use super::ChunkView;
use crate::error::{Error, Result};
use crate::report::{evcxr_html, frame_to_html, Bar, Chart, Series};
use crate::run::{column, format_duration, metric_label, Progress, RunTable};

/// A DataFrame that displays as an HTML table in a notebook (polars has no rich display there).
#[derive(Debug, Clone)]
pub struct Table {
    pub frame: DataFrame,
}

impl Table {
    pub fn to_html(&self) -> String {
        frame_to_html(&self.frame, "gan-lab-table")
    }

    /// Saves the table as parquet.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        crate::run::write_parquet(path.as_ref(), self.frame.clone())
    }

    pub fn evcxr_display(&self) {
        evcxr_html(&self.to_html());
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.frame)
    }
}

/// Images/s and time per 1,000 steps for chunks trained on different backends.
pub fn platform_table(chunks: &[ChunkView]) -> Result<Table> {
    let col = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    let frame = DataFrame::new(
        chunks.len(),
        vec![
            Column::new("backend".into(), chunks.iter().map(|c| c.backend.name()).collect::<Vec<_>>()),
            Column::new("threads".into(), chunks.iter().map(|c| c.threads as u64).collect::<Vec<_>>()),
            Column::new("batch".into(), chunks.iter().map(|c| c.batch_size as u64).collect::<Vec<_>>()),
            Column::new("steps".into(), chunks.iter().map(|c| c.to_step - c.from_step).collect::<Vec<_>>()),
            col("images_per_s", chunks.iter().map(|c| c.images_per_s).collect()),
            col("s_per_1000_steps", chunks.iter().map(|c| 1000.0 * c.batch_size as f64 / c.images_per_s.max(1e-12)).collect()),
            Column::new("run".into(), chunks.iter().map(|c| c.run.clone()).collect::<Vec<_>>()),
        ],
    )
    .map_err(|e| Error::table("building the platform table", e))?;
    Ok(Table { frame })
}

/// Images/s per backend as bars.
pub fn platform_chart(chunks: &[ChunkView]) -> Result<Chart> {
    let bars: Vec<Bar> = chunks.iter().map(|c| Bar { label: format!("{} ×{}", c.backend, c.threads), value: c.images_per_s, error: None }).collect();
    Chart::bars("Training throughput by backend", "images/s", &bars)
}

impl RunTable {
    /// A short label per row: `config/backend`, with `×threads` when the runs differ in threads.
    pub fn labels(&self) -> Vec<String> {
        let text = |name: &str, i: usize| {
            column(&self.frame, name).ok().and_then(|c| c.cast(&DataType::String).ok()).and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
        };
        let threads: Vec<Option<String>> = (0..self.len()).map(|i| text("threads", i)).collect();
        let mixed = threads.iter().any(|t| t != &threads[0]);
        (0..self.len())
            .map(|i| {
                let base = format!("{}/{}", text("config", i).unwrap_or_default(), text("backend", i).unwrap_or_default());
                match (&threads[i], mixed) {
                    (Some(t), true) => format!("{base}×{t}"),
                    _ => base,
                }
            })
            .collect()
    }

    /// The latest run (by creation of its config.json) of each configuration × backend × threads.
    pub fn latest(&self) -> Result<RunTable> {
        let labels = self.labels_with_threads();
        let created: Vec<Option<std::time::SystemTime>> =
            self.paths.iter().map(|p| std::fs::metadata(p.join("config.json")).and_then(|m| m.modified()).ok()).collect();
        let newer = |j: usize, i: usize| created[j] > created[i] || (created[j] == created[i] && j > i);
        let keep: Vec<bool> = (0..labels.len()).map(|i| !(0..labels.len()).any(|j| j != i && labels[j] == labels[i] && newer(j, i))).collect();
        self.mask(&keep)
    }

    fn labels_with_threads(&self) -> Vec<String> {
        let threads = self.numbers("threads").unwrap_or_else(|_| vec![None; self.len()]);
        self.labels().into_iter().zip(threads).map(|(l, t)| format!("{l}|{t:?}")).collect()
    }

    fn mask(&self, keep: &[bool]) -> Result<RunTable> {
        let mask = BooleanChunked::from_slice("keep".into(), keep);
        let frame = self.frame.filter(&mask).map_err(|e| Error::table("filtering the run table", e))?;
        let paths = self.paths.iter().zip(keep).filter(|(_, k)| **k).map(|(p, _)| p.clone()).collect();
        Ok(RunTable { frame, paths, problems: self.problems.clone() })
    }

    /// One bar per run that has a value in numeric column `column`.
    pub fn bar_chart(&self, column: &str, title: &str) -> Result<Chart> {
        let bars: Vec<Bar> = self
            .labels()
            .into_iter()
            .zip(self.numbers(column)?)
            .filter_map(|(label, v)| v.filter(|v| v.is_finite()).map(|value| Bar { label, value, error: None }))
            .collect();
        Ok(Chart::bars(title, &metric_label(column), &bars)?.with_caption(format!("{column} at each run's last step; {}", self.budget_caption())))
    }

    /// What a chart of these runs compares and at what budget:
    /// `3 runs; 500–3000 steps of batch 64; 1m02s–5m10s of training each`.
    pub fn budget_caption(&self) -> String {
        let span = |name: &str, show: &dyn Fn(f64) -> String| {
            let values: Vec<f64> = self.numbers(name).unwrap_or_default().into_iter().flatten().filter(|v| v.is_finite()).collect();
            let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(*v), h.max(*v)));
            match values.is_empty() {
                true => "?".to_string(),
                false if show(lo) == show(hi) => show(lo),
                false => format!("{}–{}", show(lo), show(hi)),
            }
        };
        format!(
            "{} runs; {} steps of batch {}; {} of training each",
            self.len(),
            span("steps", &|v| format!("{v:.0}")),
            span("batch", &|v| format!("{v:.0}")),
            span("train_s", &|v| format_duration(v))
        )
    }

    /// One line per run over its steps: a column of metrics.parquet (`d_loss`, `g_loss`, `d_real`,
    /// `d_fake`, `images_per_s`, `diversity`, `augment_p`), or of quality.parquet with a point per
    /// evaluation (`fld`, `kid_mean`, `precision`, `recall`, `density`, `coverage`,
    /// `class_coverage`, `class_kl`).
    pub fn curves(&self, column: &str, title: &str) -> Result<Chart> {
        use crate::run::{read_quality, MetricsRow, QualityRow, RunDir};
        let logged: Option<fn(&MetricsRow) -> f64> = match column {
            "d_loss" => Some(|r| r.d_loss),
            "g_loss" => Some(|r| r.g_loss),
            "d_real" => Some(|r| r.d_real),
            "d_fake" => Some(|r| r.d_fake),
            "images_per_s" => Some(|r| r.images_per_s),
            "diversity" => Some(|r| r.diversity),
            "augment_p" => Some(|r| r.augment_p),
            _ => None,
        };
        let evaluated: Option<fn(&QualityRow) -> f64> = match column {
            "fld" => Some(|q| q.fld),
            "kid_mean" => Some(|q| q.kid_mean),
            "precision" => Some(|q| q.precision),
            "recall" => Some(|q| q.recall),
            "density" => Some(|q| q.density),
            "coverage" => Some(|q| q.coverage),
            "class_coverage" => Some(|q| q.class_coverage),
            "class_kl" => Some(|q| q.class_kl),
            _ => None,
        };
        let mut series = Vec::new();
        for (label, path) in self.labels().into_iter().zip(&self.paths) {
            let run = RunDir { path: path.clone() };
            let points: Vec<(f64, f64)> = match (logged, evaluated) {
                (Some(f), _) => run.metrics()?.iter().map(|r| (r.step as f64, f(r))).collect(),
                (None, Some(f)) if run.quality_path().is_file() => read_quality(&run.quality_path())?.iter().map(|q| (q.step as f64, f(q))).collect(),
                (None, Some(_)) => Vec::new(),
                (None, None) => {
                    return Err(Error::Other(format!(
                        "no curve for '{column}'; use d_loss, g_loss, d_real, d_fake, images_per_s, diversity, augment_p (logged) or fld, kid_mean, precision, recall, density, coverage, class_coverage, class_kl (evaluated)"
                    )))
                }
            };
            if !points.is_empty() {
                series.push(Series::new(label, points));
            }
        }
        let caption = match evaluated {
            Some(_) => format!("{column} at each evaluation (checkpoint); {}", self.budget_caption()),
            None => self.budget_caption(),
        };
        Ok(Chart::lines(title, "generator step", &metric_label(column), &series)?.with_caption(caption))
    }

    /// `metric` over training per configuration (see [`RunTable::quality_curves`]): a line through
    /// the mean over seeds at each evaluation, shaded ± one standard deviation.
    pub fn quality_chart(&self, metric: &str, progress: Progress, title: &str) -> Result<Chart> {
        let curves = self.quality_curves(metric, progress)?;
        let series: Vec<Series> = curves
            .iter()
            .filter(|c| !c.points.is_empty())
            .map(|c| {
                let band = c.points.iter().filter_map(|p| p.std.map(|s| (p.x, p.mean - s, p.mean + s))).collect();
                Series::new(format!("{} ({} runs)", c.label, c.runs), c.points.iter().map(|p| (p.x, p.mean)).collect()).with_band(band)
            })
            .collect();
        if series.is_empty() {
            return Err(Error::Other(format!("no run of these {} has been evaluated: no {metric} to draw", self.len())));
        }
        let caption = format!(
            "{} configurations; line: the mean of {metric} over a configuration's runs (seeds) at each evaluation, shaded: ± one standard deviation; x: {}",
            series.len(),
            progress.label()
        );
        Ok(Chart::lines(title, progress.label(), &format!("{} (mean over seeds)", metric_label(metric)), &series)?.with_caption(caption))
    }

    /// Only the rows whose `column` is one of `values` (e.g. `("dataset", &["mnist10k"])`).
    pub fn filter_in(&self, column: &str, values: &[&str]) -> Result<RunTable> {
        let text = crate::run::column(&self.frame, column)?.cast(&DataType::String).map_err(|e| Error::table(format!("run table column '{column}'"), e))?;
        let text = text.str().map_err(|e| Error::table("comparing", e))?;
        let keep: Vec<bool> = (0..text.len()).map(|i| text.get(i).is_some_and(|v| values.contains(&v))).collect();
        self.mask(&keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{write_json, write_metrics, MetricsRow, RunDir, Summary};

    fn row(step: u64, g: f64) -> MetricsRow {
        MetricsRow {
            step, epoch: 0.0, d_loss: 1.0, g_loss: g, d_real: 0.6, d_fake: 0.4, lr_g: 0.0, lr_d: 0.0, steps_per_s: 1.0, images_per_s: 64.0,
            train_s: 1.0, wall_unix: 0.0, g_update: 0.0, diversity: 1.0, augment_p: 0.0, alarms: String::new(),
        }
    }

    #[test]
    fn a_run_table_charts_a_column_and_the_curves_of_each_run() {
        let root = crate::test_scratch_dir("compare");
        let _ = std::fs::remove_dir_all(&root);
        for (name, speed) in [("dcgan28", 50.0), ("mlp-gan", 1200.0)] {
            let cfg = crate::config::preset(name).unwrap();
            let run = RunDir::create(&root, &cfg).unwrap();
            write_metrics(&run.metrics_path(), &[row(10, 0.7), row(20, 0.9)]).unwrap();
            let summary = Summary {
                steps: 20, epochs: 0.1, images_seen: 1280, train_seconds: 4.0, images_per_s: speed, d_loss: 1.2, g_loss: 0.8, d_real: 0.55,
                d_fake: 0.45, finite: true, last_sample: None, last_checkpoint: None, cost_usd: None, finished_unix: 0.0,
            };
            write_json(&run.summary_path(), &summary).unwrap();
        }
        let table = RunTable::load(&root).unwrap();
        assert_eq!(table.labels().len(), 2);
        let bars = table.bar_chart("images_per_s", "speed").unwrap();
        assert!(bars.svg.contains("dcgan28/") && bars.svg.contains("mlp-gan/"));
        let curves = table.curves("g_loss", "G loss").unwrap();
        assert!(curves.svg.contains("dcgan28/") && curves.svg.contains("mlp-gan/"), "a legend entry per run");
        assert!(bars.svg.contains("images/s in training steps") && curves.svg.contains("G loss (the run"), "axes carry units");
        assert!(bars.caption.starts_with("images_per_s at each run's last step; 2 runs; 20 steps of batch "), "{}", bars.caption);
        assert!(curves.caption.starts_with("2 runs; 20 steps") && curves.caption.ends_with("; 4s of training each"), "{}", curves.caption);
        if let Ok(dir) = std::env::var("GAN_LAB_KEEP_CHARTS") {
            bars.save(std::path::Path::new(&dir).join("bars.svg")).unwrap();
            curves.save(std::path::Path::new(&dir).join("curves.svg")).unwrap();
        }
        assert!(table.curves("nope", "x").unwrap_err().to_string().contains("fld, kid_mean"));
        assert!(table.curves("fld", "FLD").is_err(), "no run has been evaluated: nothing to draw");
        let protocol = crate::run::Protocol { extractor: "x".into(), layer: "fc1".into(), n_real: 9, n_fake: 9, real_split: "all".into(), seed: 4, sampling: Default::default() };
        let q = |step: u64, fld: f64| crate::run::QualityRow::for_test(step, fld, protocol.clone());
        crate::run::write_quality(&table.paths[0].join("quality.parquet"), &[q(10, 80.0), q(20, 61.5)]).unwrap();
        let fld = table.curves("fld", "FLD over training").unwrap();
        let labels = table.labels();
        assert!(fld.svg.contains("FLD, feature distance") && fld.svg.contains(&labels[0]) && !fld.svg.contains(&labels[1]), "only the evaluated run");
        assert!(fld.caption.starts_with("fld at each evaluation (checkpoint); 2 runs"), "{}", fld.caption);
        let only = table.filter_in("config", &["mlp-gan"]).unwrap();
        assert_eq!((only.len(), only.paths.len()), (1, 1));
        assert_eq!(table.filter_in("config", &["mlp-gan", "dcgan28"]).unwrap().len(), 2);
        assert_eq!(table.numbers("images_per_s").unwrap(), vec![Some(50.0), Some(1200.0)]);
        // A second run of a configuration replaces the first in `latest`.
        let again = RunDir::create(&root, &crate::config::preset("mlp-gan").unwrap()).unwrap();
        let table = RunTable::load(&root).unwrap();
        let latest = table.latest().unwrap();
        assert_eq!((table.len(), latest.len()), (3, 2));
        assert!(latest.paths.contains(&again.path));
        assert_eq!(latest.numbers("images_per_s").unwrap().len(), 2, "a filtered table keeps its columns");
        latest.bar_chart("images_per_s", "speed").unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
