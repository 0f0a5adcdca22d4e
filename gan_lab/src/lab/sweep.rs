//! Sweeps from a notebook: the release `gan-lab sweep --local` process trains the plan while its
//! progress lines stream into the cell; the runs' states and table are read back from disk.

use polars::prelude::*;
use std::io::{BufRead, BufReader};
use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use super::engine::forward_stderr;
use super::{engine_binary, runs_dir};
use crate::error::{Error, Result};
use crate::report::{evcxr_html, frame_to_html, ImageGrid, SideBySide};
use crate::run::{RunDir, RunTable};
use crate::sweep::{freeze, plan_status, status::counts, PlannedRun, RunState, SweepPlan};

/// Every run of a plan with its state: a table in a notebook.
#[derive(Debug, Clone)]
pub struct SweepStatus {
    pub plan: SweepPlan,
    pub runs: Vec<(PlannedRun, RunState)>,
}

impl SweepStatus {
    /// Runs in `state` (`done`, `diverged`, `running`, `unfinished`, `failed`, `pending`).
    pub fn count(&self, state: &str) -> usize {
        self.runs.iter().filter(|(_, s)| s.name() == state).count()
    }

    /// `done 8` or `done 6, failed 2`.
    pub fn counts(&self) -> String {
        counts(self.runs.iter().map(|(_, s)| s))
    }

    /// One row per run: id, axis values, backend, seed, state, detail.
    pub fn frame(&self) -> Result<DataFrame> {
        let col = |name: &str, values: Vec<String>| Column::new(name.into(), values);
        let r = &self.runs;
        let columns = vec![
            col("run", r.iter().map(|(p, _)| p.id.clone()).collect()),
            col("values", r.iter().map(|(p, _)| p.label()).collect()),
            col("backend", r.iter().map(|(p, _)| p.backend.clone()).collect()),
            Column::new("seed".into(), r.iter().map(|(p, _)| p.seed).collect::<Vec<_>>()),
            col("state", r.iter().map(|(_, s)| s.name().to_string()).collect()),
            col("detail", r.iter().map(|(p, s)| s.detail(&p.budget)).collect()),
        ];
        DataFrame::new(r.len(), columns).map_err(|e| Error::table("building the sweep status table", e))
    }

    /// The latest sample grid of each configuration's run with `seed`, side by side, captioned
    /// with its axis values and backend (runs without a grid yet are left out).
    pub fn samples(&self, seed: u64) -> Result<SideBySide> {
        let dir = runs_dir();
        let mut items = Vec::new();
        for (run, _) in self.runs.iter().filter(|(r, _)| r.seed == seed) {
            let samples = run.dir(&dir).join("samples");
            let Ok(entries) = std::fs::read_dir(&samples) else { continue };
            // step-NNNNNNN.png: the names sort by step
            let latest = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "png")).max();
            if let Some(path) = latest {
                items.push((format!("{} · {}", run.label(), run.backend), ImageGrid::open(&path)?));
            }
        }
        Ok(SideBySide::new(items))
    }

    pub fn to_html(&self) -> String {
        let caption = format!("<p><b>sweep {}</b>: {} runs — {}</p>", crate::report::escape(&self.plan.name), self.runs.len(), crate::report::escape(&self.counts()));
        match self.frame() {
            Ok(df) => format!("{caption}{}", frame_to_html(&df, "gan-lab-sweep")),
            Err(e) => format!("{caption}<p>{}</p>", crate::report::escape(&e.to_string())),
        }
    }

    pub fn evcxr_display(&self) {
        evcxr_html(&self.to_html());
    }
}

/// One line per run (state, id, detail), then `sweep NAME: N runs: COUNTS` (what `gan-lab sweep
/// status` prints).
impl std::fmt::Display for SweepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.runs.iter().map(|(r, _)| r.id.len()).max().unwrap_or(0);
        for (r, s) in &self.runs {
            writeln!(f, "{:<10} {:<width$}  {}", s.name(), r.id, s.detail(&r.budget))?;
        }
        writeln!(f, "sweep {}: {} runs: {}", self.plan.name, self.runs.len(), self.counts())
    }
}

/// The state of every run of `plan` in the lab's runs folder.
pub fn sweep_status(plan: &SweepPlan) -> Result<SweepStatus> {
    Ok(SweepStatus { plan: plan.clone(), runs: plan_status(plan, &runs_dir())? })
}

/// Trains the runs of `plan` that are not finished, `workers` at a time (each with cores /
/// workers threads), in the lab's runs folder, by running `gan-lab sweep --local`; its progress
/// lines print into the cell. Finished runs are skipped, so running the cell again costs nothing.
pub fn run_sweep(plan: &SweepPlan, workers: usize) -> Result<SweepStatus> {
    plan.validate()?;
    let dir = runs_dir();
    let frozen = freeze(plan, &dir)?;
    let exe = engine_binary()?;
    let mut child = Command::new(&exe)
        .arg("sweep")
        .arg(&frozen)
        .arg("--runs-dir")
        .arg(&dir)
        .arg("--local")
        .arg(workers.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&exe, e))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let writer = Arc::clone(&tail);
    let errors = std::thread::spawn(move || forward_stderr(stderr, &writer, |_| true));
    for line in BufReader::new(child.stdout.take().expect("piped stdout")).lines().map_while(|l| l.ok()) {
        println!("{line}");
    }
    let exit = child.wait().map_err(|e| Error::io(&exe, e))?;
    let _ = errors.join();
    if !exit.success() {
        let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        let last = tail.iter().rev().find(|l| !l.trim().is_empty()).cloned().unwrap_or_else(|| format!("exit status {exit}"));
        return Err(Error::Other(format!("gan-lab sweep: {}", last.trim_start_matches("error: "))));
    }
    sweep_status(plan)
}

/// One row per run of `plan` that has a folder (see [`RunTable`]); `.group_by(&["config"])`
/// gives the comparison over seeds.
pub fn sweep_table(plan: &SweepPlan) -> Result<RunTable> {
    let dir = runs_dir();
    let runs: Vec<RunDir> = plan.expand()?.iter().map(|r| r.dir(&dir)).filter(|p| p.join("config.json").is_file()).map(|path| RunDir { path }).collect();
    RunTable::of(&runs.iter().collect::<Vec<_>>())
}
