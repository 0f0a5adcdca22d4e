//! How much training a plan gives each run: an [`Amount`] in images or training time, as a plan
//! writes it, and the [`RunBudget`] of one run (steps, or training seconds with evaluation times).

use serde::{Deserialize, Serialize};

/// An amount of training measured the same way for every run of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Amount {
    /// Real images seen (one per G step and batch slot: steps × batch size).
    Images(u64),
    /// Training time (see [`SweepPlan::budget`]).
    Minutes(f64),
    Seconds(f64),
}

impl Amount {
    /// The training seconds of a time amount (None for images).
    pub(super) fn train_seconds(self) -> Option<f64> {
        match self {
            Amount::Images(_) => None,
            Amount::Minutes(m) => Some(m * 60.0),
            Amount::Seconds(s) => Some(s),
        }
    }

    /// The whole number of steps of `batch` images this amount of images is, or why it is not one.
    pub(super) fn steps(self, batch: usize, what: &str) -> std::result::Result<u64, String> {
        let Amount::Images(n) = self else { unreachable!("the rules pair time amounts with time amounts") };
        let batch = batch as u64;
        if n == 0 {
            return Err(format!("{what} must be ≥ 1 image, got 0"));
        }
        if batch == 0 || n % batch != 0 {
            let (below, above) = (n / batch.max(1) * batch, n.div_ceil(batch.max(1)) * batch);
            return Err(format!("{what} of {n} images is not a whole number of steps at batch size {batch} (nearest: {below} or {above})"));
        }
        Ok(n / batch)
    }
}

/// How far one run of a plan trains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunBudget {
    /// To this step.
    Steps(u64),
    /// Until its training time reaches `seconds`, with a chunk (checkpoint and evaluation) ending
    /// at every multiple of `eval_every` seconds on the way.
    TrainSeconds { seconds: f64, eval_every: Option<f64> },
}

impl RunBudget {
    /// True once a run at `step`, with `train_seconds` of training, has had its budget.
    pub fn is_spent(&self, step: u64, train_seconds: f64) -> bool {
        match *self {
            RunBudget::Steps(n) => step >= n,
            RunBudget::TrainSeconds { seconds, .. } => train_seconds >= seconds,
        }
    }

    /// `500 steps` or `10 min of training`.
    pub fn describe(&self) -> String {
        match *self {
            RunBudget::Steps(n) => format!("{n} steps"),
            RunBudget::TrainSeconds { seconds, .. } => format!("{} of training", crate::run::format_duration(seconds)),
        }
    }

    /// The training times at which a time-budgeted run ends a chunk: each multiple of
    /// `eval_every` below the budget, then the budget (empty for a step budget).
    pub fn stops(&self) -> Vec<f64> {
        let RunBudget::TrainSeconds { seconds, eval_every } = *self else { return Vec::new() };
        let mut stops: Vec<f64> = match eval_every {
            Some(every) => (1..).map(|k| k as f64 * every).take_while(|t| *t < seconds * (1.0 - 1e-12)).collect(),
            None => Vec::new(),
        };
        stops.push(seconds);
        stops
    }
}
