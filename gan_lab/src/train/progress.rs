//! One progress line per logged step (notebook stdout is line-buffered: no `\r` bars).

use std::io::Write;

use crate::run::{format_duration, MetricsRow};

/// Prints one line to stdout, ignoring a closed stdout: an engine whose client went away must
/// still finish its step and write its checkpoint instead of panicking on a broken pipe.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `step 500/2000 | D 1.234 G 0.876 | D(x) 0.61 D(G(z)) 0.38 | 312 img/s | ETA 1m23s`, with
/// ` | aug p 0.42` before the rate while D's images are augmented, then ` | ALARM d_winning` when
/// an alarm is raised.
pub fn progress_line(row: &MetricsRow, target: Option<u64>, eta_seconds: Option<f64>) -> String {
    let step = match target {
        Some(t) => format!("step {}/{}", row.step, t),
        None => format!("step {}", row.step),
    };
    let eta = eta_seconds.map(|e| format!(" | ETA {}", format_duration(e))).unwrap_or_default();
    let alarms = if row.alarms.is_empty() { String::new() } else { format!(" | ALARM {}", row.alarms) };
    let augment = if row.augment_p > 0.0 { format!(" | aug p {:.2}", row.augment_p) } else { String::new() };
    format!(
        "{step} | D {:.3} G {:.3} | D(x) {:.2} D(G(z)) {:.2}{augment} | {:.0} img/s{eta}{alarms}",
        row.d_loss, row.g_loss, row.d_real, row.d_fake, row.images_per_s
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(12.4), "12s");
        assert_eq!(format_duration(187.0), "3m07s");
        assert_eq!(format_duration(3720.0), "1h02m");
    }

    #[test]
    fn a_progress_line_shows_step_losses_rate_and_eta() {
        let row = MetricsRow {
            step: 500, epoch: 1.0, d_loss: 1.2345, g_loss: 0.8765, d_real: 0.61, d_fake: 0.38, lr_g: 0.0, lr_d: 0.0,
            steps_per_s: 5.0, images_per_s: 312.4, train_s: 0.0, wall_unix: 0.0, g_update: 1e-3, diversity: 1.0, augment_p: 0.0, alarms: String::new(),
        };
        assert_eq!(
            progress_line(&row, Some(2000), Some(83.0)),
            "step 500/2000 | D 1.234 G 0.876 | D(x) 0.61 D(G(z)) 0.38 | 312 img/s | ETA 1m23s"
        );
        let augmented = MetricsRow { augment_p: 0.4213, ..row.clone() };
        assert_eq!(progress_line(&augmented, None, None), "step 500 | D 1.234 G 0.876 | D(x) 0.61 D(G(z)) 0.38 | aug p 0.42 | 312 img/s");
        let alarmed = MetricsRow { alarms: "d_winning".into(), ..row };
        assert!(progress_line(&alarmed, None, None).ends_with("312 img/s | ALARM d_winning"));
    }
}
