//! A run's final numbers (`summary.json`), rewritten at the end of every training call.

use serde::{Deserialize, Serialize};

/// Final numbers of a run, rewritten at the end of every training call. Non-finite numbers (a
/// diverged run) are written as JSON `null` and read back as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub steps: u64,
    #[serde(deserialize_with = "nan_if_null")]
    pub epochs: f64,
    pub images_seen: u64,
    #[serde(deserialize_with = "nan_if_null")]
    pub train_seconds: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub images_per_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub d_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub g_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub d_real: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub d_fake: f64,
    pub finite: bool,
    pub last_sample: Option<String>,
    pub last_checkpoint: Option<String>,
    pub cost_usd: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub finished_unix: f64,
}

impl Summary {
    /// The losses of the last logged step, `D 1.178 G 1.373 | D(x) 0.86 D(G(z)) 0.59`; NaN for a
    /// diverged run; for a run shorter than its logging interval (no losses yet, not a divergence),
    /// a sentence that says so.
    pub fn losses_text(&self) -> String {
        if self.finite && self.d_loss.is_nan() {
            "no losses logged yet (fewer steps than train.log_every)".to_string()
        } else {
            format!("D {:.3} G {:.3} | D(x) {:.2} D(G(z)) {:.2}", self.d_loss, self.g_loss, self.d_real, self.d_fake)
        }
    }
}

/// serde_json writes NaN and infinities as `null`; read `null` back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diverged_runs_summary_reads_back_with_nan() {
        let s = Summary {
            steps: 400, epochs: 4.4, images_seen: 40_000, train_seconds: 20.0, images_per_s: 2000.0, d_loss: f64::NAN, g_loss: f64::NAN,
            d_real: f64::NAN, d_fake: f64::INFINITY, finite: false, last_sample: None, last_checkpoint: None, cost_usd: None, finished_unix: 1.0,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"d_loss\":null"), "{text}");
        let back: Summary = serde_json::from_str(&text).unwrap();
        assert!(back.d_loss.is_nan() && back.d_fake.is_nan() && !back.finite);
        assert_eq!((back.steps, back.images_per_s), (400, 2000.0));
        assert_eq!(back.losses_text(), "D NaN G NaN | D(x) NaN D(G(z)) NaN", "a divergence shows as such");
        let short = Summary { finite: true, ..back.clone() };
        assert_eq!(short.losses_text(), "no losses logged yet (fewer steps than train.log_every)");
        let logged = Summary { d_loss: 1.1784, g_loss: 1.3731, d_real: 0.861, d_fake: 0.594, ..short };
        assert_eq!(logged.losses_text(), "D 1.178 G 1.373 | D(x) 0.86 D(G(z)) 0.59");
    }
}
