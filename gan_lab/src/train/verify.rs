//! Checking a checkpoint before it is trusted. `state.json` records the size and sha256 of every
//! other file of the checkpoint; opening checks them, the configuration, then every tensor's shape
//! (weights, running statistics, optimiser moments, the generator average), the fixed noise, the
//! data cursor and the open logging interval against the freshly built trainer. Nothing is changed
//! until all of it passes, so a session can fall back to the next older checkpoint when one fails,
//! and a checkpoint that opens can always train its next step.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param, ParamId};
use burn::optim::record::{AdaptorRecord, AdaptorRecordV1};
use burn::record::Recorder as RecordFormat;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::checkpoint::{TrainState, CHECKPOINT_FORMAT, GENERATOR_EMA};
use super::optim::{LabOptim, LabOptimState};
use super::{TrainBackend, Trainer, TrainerRecords};
use crate::config::OptimizerConfig;
use crate::error::{Error, Result};
use crate::run::{read_json, read_metrics, MetricsRow};

/// The size and sha256 of one checkpoint file, as `state.json` records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    pub bytes: u64,
    pub sha256: String,
}

/// The size and sha256 of `path`, read in 1 MiB pieces.
pub fn file_digest(path: &Path) -> Result<FileDigest> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileDigest { bytes, sha256: crate::hex(&hasher.finalize()) })
}

/// The digests of `names` in `dir`, for `state.json`.
pub fn seal(dir: &Path, names: &[&str]) -> Result<BTreeMap<String, FileDigest>> {
    names.iter().map(|n| Ok((n.to_string(), file_digest(&dir.join(n))?))).collect()
}

/// The files a checkpoint of this configuration holds besides `state.json`.
pub fn checkpoint_files(g_ema: bool) -> Vec<&'static str> {
    let mut files = vec!["generator.mpk", "discriminator.mpk", "g_optim.mpk", "d_optim.mpk", "metrics.parquet"];
    if g_ema {
        files.push(GENERATOR_EMA);
    }
    files
}

/// A checkpoint that passed every check: what `Recorder::restore_checkpoint` installs.
pub struct Verified<B: TrainBackend> {
    pub state: TrainState,
    pub records: TrainerRecords<B>,
    pub history: Vec<MetricsRow>,
}

/// Checks the checkpoint in `dir` against `trainer` (which it does not change). The error names
/// the file and what did not fit.
pub fn verify<B: TrainBackend>(trainer: &Trainer<B>, dir: &Path) -> Result<Verified<B>> {
    let state_path = dir.join("state.json");
    let state: TrainState = read_json(&state_path)?;
    let bad = |what: String| Error::bad_file(&state_path, what);
    match state.format {
        1 => {} // written before checkpoints recorded their digests
        CHECKPOINT_FORMAT => check_digests(dir, &state, trainer.config().train.g_ema.is_some())?,
        other => return Err(bad(format!("checkpoint format {other} is not supported (this build reads 1 and {CHECKPOINT_FORMAT})"))),
    }
    if let Some(step) = dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("step-")).and_then(|s| s.parse::<u64>().ok()) {
        if step != state.step {
            return Err(bad(format!("records step {} but its folder is step {step}", state.step)));
        }
    }
    // Compare the configurations themselves: the stored hash also changes when a later version
    // adds a field with a default, which is not a change of configuration.
    if &state.config != trainer.config() {
        let a = serde_json::to_value(&state.config).expect("config serialises");
        let b = serde_json::to_value(trainer.config()).expect("config serialises");
        return Err(Error::bad_file(
            dir,
            format!("this checkpoint belongs to another configuration; changed fields: {}", super::changed_fields(&a, &b).join(", ")),
        ));
    }
    check_numbers(trainer, &state).map_err(bad)?;
    let records = decode_records(trainer, dir)?;
    let history = read_metrics(&dir.join("metrics.parquet"))?;
    Ok(Verified { state, records, history })
}

fn check_digests(dir: &Path, state: &TrainState, g_ema: bool) -> Result<()> {
    let state_path = dir.join("state.json");
    for name in checkpoint_files(g_ema) {
        let Some(recorded) = state.files.get(name) else {
            return Err(Error::bad_file(&state_path, format!("does not list {name}")));
        };
        let path = dir.join(name);
        let found = file_digest(&path)?;
        if found.bytes != recorded.bytes {
            return Err(Error::bad_file(&path, format!("{} bytes, the checkpoint recorded {}", found.bytes, recorded.bytes)));
        }
        if found.sha256 != recorded.sha256 {
            return Err(Error::bad_file(&path, format!("sha256 {} differs from the recorded {}", found.sha256, recorded.sha256)));
        }
    }
    Ok(())
}

/// The non-tensor state against what this configuration's trainer expects.
fn check_numbers<B: TrainBackend>(trainer: &Trainer<B>, s: &TrainState) -> std::result::Result<(), String> {
    let fresh = trainer.state();
    if s.fixed_noise_bits.len() != fresh.fixed_noise.len() {
        return Err(format!("holds {} fixed-noise values, this configuration draws {}", s.fixed_noise_bits.len(), fresh.fixed_noise.len()));
    }
    let train_images = trainer.split().train.len();
    if s.cursor.position > train_images {
        return Err(format!("data cursor at image {} of an epoch of {train_images}", s.cursor.position));
    }
    if let Some(sums) = &s.interval_sums_bits {
        if sums.len() != 4 {
            return Err(format!("holds {} interval sums, 4 expected (d_loss, g_loss, d_real, d_fake)", sums.len()));
        }
    }
    for (name, v) in [("train_seconds", s.train_seconds), ("interval_seconds", s.interval_seconds)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("{name} is {v}, not a number of seconds"));
        }
    }
    if let Some([p, sum, _]) = s.augment_bits {
        let (p, sum) = (f64::from_bits(p), f64::from_bits(sum));
        if !((0.0..=1.0).contains(&p) && sum.is_finite()) {
            return Err(format!("augmentation p = {p} (must be in [0, 1]) and sign sum = {sum} (must be finite)"));
        }
    }
    let log_every = trainer.config().train.log_every;
    if s.interval_steps >= log_every {
        return Err(format!("the open logging interval holds {} steps, more than log_every = {log_every} allows", s.interval_steps));
    }
    Ok(())
}

/// Runs `load` (decoding `path`), turning an error or a panic of burn's decoder into a bad file.
fn decoded<T>(path: &Path, what: &str, load: impl FnOnce() -> std::result::Result<T, burn::record::RecorderError>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::bad_file(path, format!("not a readable {what}: {e:?}"))),
        Err(_) => Err(Error::bad_file(path, format!("not a readable {what}: its record could not be decoded"))),
    }
}

/// Decodes every record, then checks each tensor's shape against the trainer's networks and each
/// optimiser state against the tensors of its network.
fn decode_records<B: TrainBackend>(trainer: &Trainer<B>, dir: &Path) -> Result<TrainerRecords<B>> {
    let rec = super::checkpoint::recorder();
    let device = trainer.device().clone();
    let path = |name: &str| dir.join(name);
    let (g, d, go, dgo, avg) = (path("generator.mpk"), path("discriminator.mpk"), path("g_optim.mpk"), path("d_optim.mpk"), path(GENERATOR_EMA));
    let mut records = TrainerRecords::<B> {
        generator: decoded(&g, "generator checkpoint", || RecordFormat::<B>::load(&rec, g.clone(), &device))?,
        discriminator: decoded(&d, "discriminator checkpoint", || RecordFormat::<B>::load(&rec, d.clone(), &device))?,
        g_optim: decoded(&go, "optimiser state", || RecordFormat::<B>::load(&rec, go.clone(), &device))?,
        d_optim: decoded(&dgo, "optimiser state", || RecordFormat::<B>::load(&rec, dgo.clone(), &device))?,
        g_ema: match trainer.config().train.g_ema {
            Some(_) => Some(decoded(&avg, "generator average", || RecordFormat::<B::InnerBackend>::load(&rec, avg.clone(), &device))?),
            None => None,
        },
    };
    let g_tensors;
    (records.generator, g_tensors) = checked_module(trainer.generator(), records.generator, &g)?;
    let d_tensors;
    (records.discriminator, d_tensors) = checked_module(trainer.discriminator(), records.discriminator, &d)?;
    let cfg = trainer.config();
    check_optimiser::<B>(records.g_optim.iter(), &g_tensors, two_moments(&cfg.g_optimizer)).map_err(|e| Error::bad_file(&go, e))?;
    check_optimiser::<B>(records.d_optim.iter(), &d_tensors, two_moments(&cfg.d_optimizer)).map_err(|e| Error::bad_file(&dgo, e))?;
    if let Some(r) = records.g_ema.take() {
        records.g_ema = Some(checked_module(&trainer.generator().valid(), r, &avg)?.0);
    }
    Ok(records)
}

/// `record` loaded into a copy of `fresh`, if its tensors fit; with the loaded tensors' ids and shapes.
fn checked_module<B: Backend, M: Module<B>>(fresh: &M, record: M::Record, path: &Path) -> Result<(M::Record, Vec<(ParamId, Vec<usize>)>)> {
    let loaded = fresh.clone().load_record(record);
    let (want, got) = (tensor_shapes(fresh), tensor_shapes(&loaded));
    if want.len() != got.len() {
        return Err(Error::bad_file(path, format!("{} tensors where this configuration has {}", got.len(), want.len())));
    }
    for (i, ((_, a), (_, b))) in want.iter().zip(&got).enumerate() {
        if a != b {
            return Err(Error::bad_file(path, format!("tensor {i} has shape {b:?}, this configuration's has {a:?}")));
        }
    }
    Ok((loaded.into_record(), got))
}

/// Whether the rule keeps a second moment (Adam) that its state must hold.
fn two_moments(cfg: &OptimizerConfig) -> bool {
    matches!(cfg, OptimizerConfig::Adam { .. })
}

/// Each optimiser state belongs to a tensor of the network and has its shape.
fn check_optimiser<'a, B: TrainBackend>(
    states: impl IntoIterator<Item = (&'a ParamId, &'a AdaptorRecord<LabOptim, B>)>,
    tensors: &[(ParamId, Vec<usize>)],
    two_moments: bool,
) -> std::result::Result<(), String> {
    for (id, state) in states {
        let Some((_, shape)) = tensors.iter().find(|(t, _)| t == id) else {
            return Err(format!("holds the state of tensor {id}, which the network does not have"));
        };
        let (first, second) = state_shapes(state);
        if &first != shape {
            return Err(format!("the state of a tensor of shape {shape:?} has shape {first:?}"));
        }
        match second {
            None if two_moments => return Err(format!("the Adam state of a tensor of shape {shape:?} has no second moment")),
            Some(s) if &s != shape => return Err(format!("the second moment of a tensor of shape {shape:?} has shape {s:?}")),
            _ => {}
        }
    }
    Ok(())
}

/// The shapes of an optimiser state's first and second moments.
fn state_shapes<B: TrainBackend>(record: &AdaptorRecord<LabOptim, B>) -> (Vec<usize>, Option<Vec<usize>>) {
    fn dims<B: Backend, const D: usize>(s: &LabOptimState<B, D>) -> (Vec<usize>, Option<Vec<usize>>) {
        (s.first.dims().to_vec(), s.second.as_ref().map(|t| t.dims().to_vec()))
    }
    let AdaptorRecord::V1(v) = record;
    match v {
        AdaptorRecordV1::Rank0(s) => dims(s),
        AdaptorRecordV1::Rank1(s) => dims(s),
        AdaptorRecordV1::Rank2(s) => dims(s),
        AdaptorRecordV1::Rank3(s) => dims(s),
        AdaptorRecordV1::Rank4(s) => dims(s),
        AdaptorRecordV1::Rank5(s) => dims(s),
        AdaptorRecordV1::Rank6(s) => dims(s),
        AdaptorRecordV1::Rank7(s) => dims(s),
        AdaptorRecordV1::Rank8(s) => dims(s),
    }
}

/// Every float tensor of a module (parameters and running statistics) with its id and shape.
fn tensor_shapes<B: Backend, M: Module<B>>(m: &M) -> Vec<(ParamId, Vec<usize>)> {
    struct Shapes(Vec<(ParamId, Vec<usize>)>);
    impl<B: Backend> ModuleVisitor<B> for Shapes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push((param.id, param.val().dims().to_vec()));
        }
    }
    let mut v = Shapes(Vec::new());
    m.visit(&mut v);
    v.0
}
