//! `gan-lab runs`: the run table of one or more folders, grouped (with time to quality), or a
//! sweep's answer table.

use std::path::PathBuf;

use gan_lab::run::{Measure, RunTable};
use gan_lab::{Error, Result};

use super::polars_display_settings;

/// `--baseline AXIS=VALUE …` with `--metric` and `--reach`: the baseline and the measure.
pub fn answer_question(baseline: &[String], metric: String, reach: Option<f64>) -> Result<(Vec<(String, String)>, Measure)> {
    let pairs = baseline
        .iter()
        .map(|b| match b.split_once('=') {
            Some((axis, value)) if !axis.is_empty() && !value.is_empty() => Ok((axis.to_string(), value.to_string())),
            _ => Err(Error::Other(format!("--baseline takes AXIS=VALUE (e.g. optimizer=adam), got '{b}'"))),
        })
        .collect::<Result<Vec<_>>>()?;
    let measure = match reach {
        Some(threshold) => Measure::TimeTo { metric, threshold },
        None => Measure::Final(metric),
    };
    Ok((pairs, measure))
}

pub fn runs(dirs: &[PathBuf], group_by: Option<&str>, answers: Option<(Vec<(String, String)>, Measure)>, reach: Option<(String, f64)>, html: Option<&std::path::Path>) -> Result<()> {
    polars_display_settings();
    let table = RunTable::load_many(dirs)?;
    let shown = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
    for p in &table.problems {
        eprintln!("warning: skipped {p}");
    }
    if table.is_empty() {
        println!("no runs in {shown}");
        return Ok(());
    }
    if let Some((baseline, measure)) = answers {
        let table = table.answers(&baseline, &measure, 0.95)?;
        if let Some(out) = html {
            table.save_html(out, &format!("Answers from the runs in {shown}"))?;
        }
        println!("{table}");
        return Ok(());
    }
    match group_by {
        Some(by) => {
            let by: Vec<&str> = by.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
            let grouped = match &reach {
                Some((metric, threshold)) => table.with_time_to_quality(metric, *threshold)?.group_by(&by)?,
                None => table.group_by(&by)?,
            };
            if let Some(out) = html {
                grouped.save_html(out, &format!("Runs in {shown}, grouped by {}", by.join(", ")))?;
            }
            println!("{} runs in {} groups (mean ± sample std over each group's runs)", table.len(), grouped.len());
            if let Some((metric, threshold)) = &reach {
                let label = Measure::TimeTo { metric: metric.clone(), threshold: *threshold }.label();
                println!("time_to_quality: {label} (over the runs that got there; reached: how many did), cost_to_quality: that time at each run's price");
            }
            println!("{grouped}");
        }
        None => {
            if let Some(out) = html {
                table.save_html(out, &format!("Runs in {shown}"))?;
            }
            println!("{table}");
        }
    }
    Ok(())
}
