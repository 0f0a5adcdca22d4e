//! `gan-lab bench`: full training steps (D step + G step, the preset's exact layers and optimiser)
//! on data already in memory, warm-up excluded, several repetitions, median and spread.

use polars::prelude::*;
use std::path::Path;

use crate::config::preset;
use crate::error::{Error, Result};
use crate::platform::{cpu_threads, AnySession, BackendKind};

/// One measured (preset, batch, backend, threads) combination.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRow {
    pub preset: String,
    pub batch: usize,
    pub backend: String,
    pub threads: usize,
    /// Median over repetitions.
    pub images_per_s: f64,
    pub min_images_per_s: f64,
    pub max_images_per_s: f64,
    pub reps: usize,
    pub steps_per_rep: u64,
    /// Median milliseconds per training step.
    pub ms_per_step: f64,
    /// Nominal work of one step per image (`flops::step_flops_per_image`), in MFLOP.
    pub mflop_per_image: f64,
    /// Median achieved GFLOP/s (images/s × work per image).
    pub gflop_per_s: f64,
}

/// How much to measure.
#[derive(Debug, Clone, Copy)]
pub struct BenchPlan {
    pub warmup_steps: u64,
    pub reps: usize,
    pub steps_per_rep: u64,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Measures one combination. Logging, sampling and checkpoints are off; data loading and model
/// construction are outside the timed region.
pub fn bench_one(preset_name: &str, batch: usize, backend: BackendKind, plan: BenchPlan) -> Result<BenchRow> {
    if plan.reps == 0 || plan.steps_per_rep == 0 {
        return Err(Error::Other(format!("bench needs ≥ 1 repetition of ≥ 1 step, got {} × {}", plan.reps, plan.steps_per_rep)));
    }
    let mut cfg = preset(preset_name)?;
    cfg.train.batch_size = batch;
    let mflop = crate::flops::step_flops_per_image(&cfg) / 1e6;
    cfg.train.log_every = u64::MAX;
    cfg.train.sample_every = u64::MAX;
    cfg.train.checkpoint_every = u64::MAX;
    let mut session = AnySession::new(cfg, backend, None, None)?;
    session.set_verbose(false);
    if plan.warmup_steps > 0 {
        session.train_steps(plan.warmup_steps)?;
    }
    let mut rates = Vec::with_capacity(plan.reps);
    for _ in 0..plan.reps {
        let r = session.train_steps(plan.steps_per_rep)?;
        rates.push(r.images_per_s);
    }
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    let med = median(&mut rates);
    Ok(BenchRow {
        preset: preset_name.into(),
        batch,
        backend: backend.name().into(),
        threads: cpu_threads(),
        images_per_s: med,
        min_images_per_s: min,
        max_images_per_s: max,
        reps: plan.reps,
        steps_per_rep: plan.steps_per_rep,
        ms_per_step: 1000.0 * batch as f64 / med,
        mflop_per_image: mflop,
        gflop_per_s: med * mflop / 1e3,
    })
}

/// GFLOP/s of an `n`×`n`×`n` f32 matrix product on the flex backend (the gemm kernels its
/// convolutions and linear layers use), best of `reps` after one untimed product: this CPU's
/// ceiling for the bench's GFLOP/s.
pub fn sgemm_gflops(n: usize, reps: usize) -> Result<f64> {
    use burn::backend::Flex;
    use burn::tensor::{Distribution, Tensor};
    if n == 0 || reps == 0 {
        return Err(Error::Other(format!("the sgemm ceiling needs n ≥ 1 and ≥ 1 repetition, got n = {n}, {reps}")));
    }
    let device = Default::default();
    let a = Tensor::<Flex, 2>::random([n, n], Distribution::Default, &device);
    let b = Tensor::<Flex, 2>::random([n, n], Distribution::Default, &device);
    let mut best = 0f64;
    for i in 0..=reps {
        let t = std::time::Instant::now();
        let c = a.clone().matmul(b.clone());
        let _ = c.into_data();
        if i > 0 {
            best = best.max(2.0 * (n as f64).powi(3) / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    Ok(best)
}

/// The rows as a DataFrame (rates and times rounded to 0.01).
pub fn bench_frame(rows: &[BenchRow]) -> Result<DataFrame> {
    let f = |name: &str, g: fn(&BenchRow) -> f64| Column::new(name.into(), rows.iter().map(|r| (g(r) * 100.0).round() / 100.0).collect::<Vec<f64>>());
    let u = |name: &str, g: fn(&BenchRow) -> u64| Column::new(name.into(), rows.iter().map(g).collect::<Vec<u64>>());
    let columns = vec![
        Column::new("preset".into(), rows.iter().map(|r| r.preset.clone()).collect::<Vec<_>>()),
        u("batch", |r| r.batch as u64),
        Column::new("backend".into(), rows.iter().map(|r| r.backend.clone()).collect::<Vec<_>>()),
        u("threads", |r| r.threads as u64),
        f("images_per_s", |r| r.images_per_s),
        f("min_images_per_s", |r| r.min_images_per_s),
        f("max_images_per_s", |r| r.max_images_per_s),
        f("ms_per_step", |r| r.ms_per_step),
        f("mflop_per_image", |r| r.mflop_per_image),
        f("gflop_per_s", |r| r.gflop_per_s),
        u("reps", |r| r.reps as u64),
        u("steps_per_rep", |r| r.steps_per_rep),
    ];
    DataFrame::new(rows.len(), columns).map_err(|e| Error::table("building the bench table", e))
}

/// CSV with a header row (`preset,batch,backend,threads,images_per_s,…`).
pub fn bench_csv(rows: &[BenchRow]) -> String {
    let mut out = String::from("preset,batch,backend,threads,images_per_s,min_images_per_s,max_images_per_s,ms_per_step,reps,steps_per_rep,mflop_per_image,gflop_per_s\n");
    for r in rows {
        out += &format!(
            "{},{},{},{},{:.2},{:.2},{:.2},{:.2},{},{},{:.2},{:.2}\n",
            r.preset,
            r.batch,
            r.backend,
            r.threads,
            r.images_per_s,
            r.min_images_per_s,
            r.max_images_per_s,
            r.ms_per_step,
            r.reps,
            r.steps_per_rep,
            r.mflop_per_image,
            r.gflop_per_s
        );
    }
    out
}

/// Writes the rows as parquet, atomically.
pub fn write_bench(path: &Path, rows: &[BenchRow]) -> Result<()> {
    crate::run::write_parquet(path, bench_frame(rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn a_bench_of_the_mlp_reference_measures_a_positive_rate_and_prints_csv() {
        let plan = BenchPlan { warmup_steps: 1, reps: 3, steps_per_rep: 2 };
        let row = bench_one("mlp-gan", 16, BackendKind::Flex, plan).unwrap();
        assert!(row.images_per_s > 0.0 && row.min_images_per_s <= row.images_per_s && row.images_per_s <= row.max_images_per_s);
        let csv = bench_csv(&[row.clone()]);
        assert!(csv.starts_with("preset,batch,backend,threads,images_per_s"));
        assert!(csv.lines().nth(1).unwrap().starts_with("mlp-gan,16,flex,"));
        assert!((row.mflop_per_image - 35.154432).abs() < 1e-9 && (row.gflop_per_s - row.images_per_s * 0.035154432).abs() < 1e-9);
        assert!(bench_one("mlp-gan", 16, BackendKind::Flex, BenchPlan { reps: 0, ..plan }).is_err());
    }

    #[test]
    fn the_sgemm_ceiling_is_positive_and_bad_sizes_are_refused() {
        assert!(sgemm_gflops(64, 2).unwrap() > 0.0);
        assert!(sgemm_gflops(0, 2).is_err());
    }
}
