//! What one training chunk shows in a notebook: ONE `text/html` block (evcxr keeps one output per
//! MIME type per cell) with the loss chart, the D(x)/D(G(z)) chart, the fixed-noise sample grid
//! and the chunk's numbers.

use std::path::{Path, PathBuf};

use super::{mode_name, Experiment};
use crate::backend::BackendKind;
use crate::error::Result;
use crate::report::{escape, evcxr_html_or_error, format_number, scrolling, Chart, ImageGrid, Series};
use crate::config::ExperimentConfig;
use crate::run::{format_duration, MetricsRow};

/// One chunk's report.
#[derive(Debug, Clone)]
pub struct ChunkView {
    pub run: String,
    pub run_path: PathBuf,
    pub backend: BackendKind,
    pub threads: usize,
    pub from_step: u64,
    pub to_step: u64,
    pub batch_size: usize,
    /// Seconds inside training steps (what images/s is computed from).
    pub train_seconds: f64,
    /// Seconds of the whole call as the notebook saw it: samples, checkpoints and the channel included.
    pub wall_seconds: f64,
    pub images_per_s: f64,
    /// The engine stopped early because its client went away.
    pub interrupted: bool,
    /// Every metrics row of the run so far.
    pub history: Vec<MetricsRow>,
    pub sample: Option<ImageGrid>,
    pub sample_path: Option<PathBuf>,
    pub charts: Vec<Chart>,
    /// What the last row's alarms mean and what to try (train/health.rs), one sentence each.
    pub advice: Vec<String>,
}

/// The loss chart and the D(x) / D(G(z)) chart of a run's history (none when it is empty) for
/// configuration `cfg`, each with a caption saying what it shows and at what budget.
pub fn history_charts(history: &[MetricsRow], cfg: &ExperimentConfig) -> Result<Vec<Chart>> {
    let Some(last) = history.last() else { return Ok(Vec::new()) };
    let line = |name: &str, f: fn(&MetricsRow) -> f64| Series::new(name, history.iter().map(|r| (r.step as f64, f(r))).collect());
    let budget = format!("mean of each logged interval; steps 0–{} of batch {}, {} of training", last.step, cfg.train.batch_size, format_duration(last.train_s));
    Ok(vec![
        Chart::lines("Losses", "generator step", "loss per image", &[line("D loss", |r| r.d_loss), line("G loss", |r| r.g_loss)])?
            .with_caption(format!("{} loss, {budget}", cfg.loss.name())),
        Chart::lines("Discriminator outputs", "generator step", "mean sigmoid(D), probability", &[line("D(x)", |r| r.d_real), line("D(G(z))", |r| r.d_fake)])?
            .with_caption(format!("D's outputs on real and generated images, {budget}")),
    ])
}

impl ChunkView {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        exp: &Experiment,
        from_step: u64,
        to_step: u64,
        train_seconds: f64,
        wall_seconds: f64,
        images_per_s: f64,
        sample_path: Option<PathBuf>,
        interrupted: bool,
        history: Vec<MetricsRow>,
    ) -> Result<Self> {
        let sample = match &sample_path {
            Some(p) => Some(ImageGrid::open(p)?),
            None => None,
        };
        let advice = history.last().map_or(Vec::new(), |r| r.alarm_names().filter_map(|a| crate::run::advice(a, exp.config())).collect());
        Ok(ChunkView {
            advice,
            run: exp.run_dir().name(),
            run_path: exp.run_dir().path.clone(),
            backend: exp.backend(),
            threads: exp.threads(),
            from_step,
            to_step,
            batch_size: exp.config().train.batch_size,
            train_seconds,
            wall_seconds,
            images_per_s,
            interrupted,
            charts: history_charts(&history, exp.config())?,
            history,
            sample,
            sample_path,
        })
    }

    /// Images per second over the whole call (overheads included), as a notebook user waits for it.
    pub fn wall_images_per_s(&self) -> f64 {
        let images = (self.to_step - self.from_step) as f64 * self.batch_size as f64;
        if self.wall_seconds > 0.0 {
            images / self.wall_seconds
        } else {
            0.0
        }
    }

    /// The last metrics row.
    pub fn last(&self) -> Option<&MetricsRow> {
        self.history.last()
    }

    /// The report as one HTML fragment.
    pub fn to_html(&self) -> Result<String> {
        let mut html = format!(
            "<div class=\"gan-lab-chunk\"><p><b>{}</b> — steps {} → {} on {} ({} threads, {} mode){}</p>\n",
            escape(&self.run),
            self.from_step,
            self.to_step,
            self.backend,
            self.threads,
            mode_name(),
            if self.interrupted { " — <b>interrupted</b>, checkpoint kept" } else { "" }
        );
        html += "<div style=\"display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start\">\n";
        for c in &self.charts {
            html += &c.to_html();
        }
        if let Some(grid) = &self.sample {
            html += &format!("<figure style=\"margin:0\">{}<figcaption>fixed noise, step {}</figcaption></figure>", grid.to_html()?, self.to_step);
        }
        html += "</div>\n";
        let last = self.last();
        let cell = |f: fn(&MetricsRow) -> f64| last.map(|r| format_number(f(r))).unwrap_or_default();
        let mut rows = vec![
            ("steps", format!("{}", self.to_step - self.from_step)),
            ("training s", format_number(self.train_seconds)),
            ("wall s", format_number(self.wall_seconds)),
            ("images/s (training)", format_number(self.images_per_s)),
            ("images/s (wall)", format_number(self.wall_images_per_s())),
            ("D loss", cell(|r| r.d_loss)),
            ("G loss", cell(|r| r.g_loss)),
            ("D(x)", cell(|r| r.d_real)),
            ("D(G(z))", cell(|r| r.d_fake)),
            ("alarms", last.map(|r| escape(&r.alarms)).unwrap_or_default()),
        ];
        if last.is_some_and(|r| r.augment_p > 0.0) {
            rows.insert(rows.len() - 1, ("aug p", cell(|r| r.augment_p)));
        }
        let mut table = String::from("<table class=\"gan-lab-numbers\"><tr>");
        for (k, _) in &rows {
            table += &format!("<th>{k}</th>");
        }
        table += "</tr><tr>";
        for (_, v) in &rows {
            table += &format!("<td style=\"text-align:right\">{v}</td>");
        }
        html += &scrolling(&(table + "</tr></table>"));
        for text in &self.advice {
            html += &format!("<p style=\"margin:4px 0\"><b>alarm</b> {}</p>", escape(text));
        }
        html += "</div>";
        Ok(html)
    }

    /// Saves the report as a standalone HTML page.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let page = crate::report::html_page(&format!("{} steps {}–{}", self.run, self.from_step, self.to_step), &self.to_html()?);
        crate::run::write_atomic(path.as_ref(), page.as_bytes())
    }

    /// evcxr rich display.
    pub fn evcxr_display(&self) {
        evcxr_html_or_error(self.to_html());
    }
}
