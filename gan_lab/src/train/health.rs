//! Training-health alarms, evaluated at every logged step from numbers that are deterministic
//! (so resumed runs raise exactly the alarms uninterrupted runs raise).

use crate::config::HealthConfig;
use crate::run::MetricsRow;

/// Mean Euclidean distance over all pairs of the `n` vectors in `x` (each `x.len() / n` long).
pub fn mean_pairwise_distance(x: &[f32], n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let dim = x.len() / n;
    let mut total = 0.0f64;
    for i in 0..n {
        let a = &x[i * dim..(i + 1) * dim];
        for j in i + 1..n {
            let b = &x[j * dim..(j + 1) * dim];
            let d2: f32 = a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum();
            total += (d2 as f64).sqrt();
        }
    }
    total / (n * (n - 1) / 2) as f64
}

/// Relative L2 change ‖after − before‖ / ‖before‖.
pub fn relative_change(before: &[f32], after: &[f32]) -> f64 {
    let diff: f64 = before.iter().zip(after).map(|(a, b)| ((b - a) as f64).powi(2)).sum();
    let norm: f64 = before.iter().map(|a| (*a as f64).powi(2)).sum();
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

/// The alarms for `row`, given the rows logged before it. Names, comma-separated in metrics.
pub fn alarms(cfg: &HealthConfig, previous: &[MetricsRow], row: &MetricsRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !(row.d_loss.is_finite() && row.g_loss.is_finite() && row.g_update.is_finite()) {
        out.push("non_finite");
    }
    let k = cfg.patience.max(1) as usize;
    let recent = previous.iter().rev().take(k - 1).chain(std::iter::once(row));
    if previous.len() + 1 >= k && recent.clone().all(|r| r.d_fake < cfg.d_fake_floor) {
        out.push("d_winning");
    }
    if row.g_update < cfg.min_g_update {
        out.push("g_stalled");
    }
    // "Falling": an untrained generator's samples are all alike, so the alarm waits until the
    // samples have once been diverse enough.
    let was_diverse = previous.iter().any(|r| r.diversity >= cfg.min_diversity);
    if row.diversity < cfg.min_diversity && was_diverse {
        out.push("low_diversity");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(d_fake: f64, g_update: f64, diversity: f64) -> MetricsRow {
        MetricsRow {
            step: 1, epoch: 0.0, d_loss: 1.0, g_loss: 1.0, d_real: 0.9, d_fake, lr_g: 0.0, lr_d: 0.0, steps_per_s: 1.0,
            images_per_s: 1.0, train_s: 1.0, wall_unix: 0.0, g_update, diversity, augment_p: 0.0, alarms: String::new(),
        }
    }

    #[test]
    fn pairwise_distance_matches_a_hand_computed_example() {
        // (0,0), (3,4), (0,4): distances 5, 3, 4 → mean 4.
        assert!((mean_pairwise_distance(&[0.0, 0.0, 3.0, 4.0, 0.0, 4.0], 3) - 4.0).abs() < 1e-9);
        assert_eq!(mean_pairwise_distance(&[1.0, 1.0], 1), 0.0);
    }

    #[test]
    fn relative_change_is_scale_free() {
        assert!((relative_change(&[3.0, 4.0], &[3.0, 4.5]) - 0.1).abs() < 1e-9);
    }

    #[test]
    fn the_discriminator_wins_only_after_patience_rows_below_the_floor() {
        let cfg = HealthConfig::default();
        let low = row(0.001, 1e-3, 1.0);
        let history = vec![low.clone(); cfg.patience as usize - 2];
        assert!(!alarms(&cfg, &history, &low).contains(&"d_winning"));
        let history = vec![low.clone(); cfg.patience as usize - 1];
        assert!(alarms(&cfg, &history, &low).contains(&"d_winning"));
        let mut mixed = history.clone();
        mixed[cfg.patience as usize - 2] = row(0.5, 1e-3, 1.0);
        assert!(!alarms(&cfg, &mixed, &low).contains(&"d_winning"));
    }

    /// Mean D(G(z)) of every logged row (log_every 50, steps 50–800) of measured dcgan-emoji32
    /// runs (README, "Augmenting what D sees"): the defaults raise `d_winning` where D won for 400
    /// steps on a 300-image set, and on neither the same with ADA nor full datasets.
    #[test]
    fn the_default_floor_and_patience_separate_the_measured_runs() {
        const PLAIN_300_S1: [f64; 16] = [0.174, 0.083, 0.083, 0.127, 0.098, 0.081, 0.094, 0.072, 0.102, 0.111, 0.07, 0.098, 0.07, 0.049, 0.089, 0.046];
        const PLAIN_300_S2: [f64; 16] = [0.15, 0.089, 0.043, 0.09, 0.103, 0.08, 0.075, 0.105, 0.092, 0.057, 0.054, 0.089, 0.05, 0.081, 0.063, 0.047];
        const PLAIN_300_S3: [f64; 16] = [0.167, 0.072, 0.081, 0.062, 0.097, 0.099, 0.075, 0.087, 0.062, 0.097, 0.062, 0.098, 0.055, 0.106, 0.05, 0.044];
        const ADA_300_S2: [f64; 16] = [0.165, 0.098, 0.076, 0.08, 0.117, 0.082, 0.113, 0.114, 0.12, 0.156, 0.149, 0.165, 0.167, 0.158, 0.165, 0.165];
        const FULL_EMOJI: [f64; 16] = [0.174, 0.088, 0.067, 0.045, 0.052, 0.057, 0.141, 0.127, 0.094, 0.1, 0.177, 0.094, 0.148, 0.113, 0.12, 0.117];
        const DCGAN28_MNIST: [f64; 16] = [0.299, 0.164, 0.166, 0.244, 0.231, 0.3, 0.316, 0.305, 0.316, 0.328, 0.306, 0.312, 0.307, 0.282, 0.274, 0.269];
        let first_step_raised = |d_fake: &[f64]| {
            let cfg = HealthConfig::default();
            let rows: Vec<MetricsRow> = d_fake.iter().enumerate().map(|(i, &f)| MetricsRow { step: 50 * (i as u64 + 1), ..row(f, 1e-3, 1.0) }).collect();
            (0..rows.len()).find(|&i| alarms(&cfg, &rows[..i], &rows[i]).contains(&"d_winning")).map(|i| rows[i].step)
        };
        assert_eq!(first_step_raised(&PLAIN_300_S2), Some(800));
        assert_eq!(first_step_raised(&PLAIN_300_S3), Some(450));
        assert_eq!(first_step_raised(&PLAIN_300_S1), None, "its longest run below 0.1 is 6 rows");
        for healthy in [ADA_300_S2, FULL_EMOJI, DCGAN28_MNIST] {
            assert_eq!(first_step_raised(&healthy), None, "{healthy:?}");
        }
    }

    #[test]
    fn stalled_generators_collapsed_samples_and_nans_raise_their_alarms() {
        let cfg = HealthConfig::default();
        assert_eq!(alarms(&cfg, &[], &row(0.4, 0.0, 1.0)), vec!["g_stalled"]);
        assert!(alarms(&cfg, &[], &row(0.4, 1e-3, 0.01)).is_empty(), "a fresh generator's alike samples are no alarm");
        assert_eq!(alarms(&cfg, &[row(0.4, 1e-3, 0.9)], &row(0.4, 1e-3, 0.01)), vec!["low_diversity"]);
        assert!(alarms(&cfg, &[], &row(0.4, f64::NAN, 1.0)).contains(&"non_finite"));
        assert!(alarms(&cfg, &[], &row(0.4, 1e-3, 1.0)).is_empty());
    }
}
