//! Checkpoints verify themselves: a fuzz of `state.json`'s fields and of swapped, truncated or
//! altered checkpoint files (with and without digests that match them) never panics; a session
//! that opens trains its next step; a corrupt newest checkpoint falls back to the previous one.

use gan_lab::config::{preset, ExperimentConfig};
use gan_lab::error::Error;
use gan_lab::platform::{AnySession, BackendKind};
use gan_lab::run::RunDir;
use gan_lab::train::file_digest;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// dcgan28 shrunk (BatchNorm running statistics, Adam's two moments, a generator average):
/// complete checkpoints at steps 10 and 13 after 13 steps.
fn small() -> ExperimentConfig {
    let mut cfg = preset("dcgan28").unwrap();
    cfg.train.batch_size = 8;
    cfg.data.limit = Some(64);
    cfg.train.log_every = 3;
    cfg.train.sample_every = 100;
    cfg.train.checkpoint_every = 5;
    cfg.train.sample_count = 4;
    cfg.train.eval_samples = 0;
    cfg.train.g_ema = Some(gan_lab::config::GeneratorEma { decay: 0.9, start_step: 2 });
    cfg
}

fn trained(root: &Path, cfg: &ExperimentConfig, steps: u64) -> RunDir {
    let run = RunDir::create(root, cfg).unwrap();
    let mut s = AnySession::new(cfg.clone(), BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(steps).unwrap();
    run
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Rewrites the digests `state.json` records, so only the deeper checks can catch a change.
fn reseal(checkpoint: &Path) {
    let path = checkpoint.join("state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let files: Vec<String> = state["files"].as_object().unwrap().keys().cloned().collect();
    for f in files {
        let d = file_digest(&checkpoint.join(&f)).unwrap();
        state["files"][&f] = json!({"bytes": d.bytes, "sha256": d.sha256});
    }
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
}

/// Opens `run` and trains one step; `Ok(step opened at)`, or the clean error. A panic fails.
fn open_and_step(run: &RunDir) -> Result<u64, String> {
    let mut s = AnySession::open(run.clone(), Some(BackendKind::Flex), None).map_err(|e| e.to_string())?;
    s.set_verbose(false);
    let at = s.step();
    match s.train_steps(1) {
        Ok(_) | Err(Error::Diverged { .. }) => Ok(at),
        Err(e) => panic!("opened at step {at} but the next step failed: {e}"),
    }
}

/// Every path into `v` (arrays count as one value, their elements are not visited).
fn paths(v: &Value, here: &str, out: &mut Vec<String>) {
    out.push(here.to_string());
    if let Value::Object(m) = v {
        for (k, x) in m {
            paths(x, &format!("{here}/{k}"), out);
        }
    }
}

fn mutate(v: &Value, rng: &mut rand_chacha::ChaCha8Rng) -> Option<Value> {
    Some(match rng.random_range(0..10) {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(1e300),
        4 => json!("x"),
        5 => json!([]),
        6 => match v {
            Value::Array(a) if !a.is_empty() => Value::Array(a[..a.len() - 1].to_vec()),
            Value::Array(a) => json!([a.len()]),
            _ => json!({}),
        },
        7 => match v {
            Value::Array(a) => Value::Array(a.iter().chain(a.first()).cloned().collect()),
            Value::Number(n) => json!(n.as_u64().map_or(0, |x| x.wrapping_add(1))),
            _ => json!(true),
        },
        8 => match v {
            Value::Number(n) => json!(n.as_u64().map_or(7, |x| x.saturating_mul(1 << 40))),
            _ => json!(0),
        },
        _ => return None, // delete the field
    })
}

#[test]
fn a_fuzz_of_state_json_and_of_swapped_files_never_panics_and_what_opens_trains_a_step() {
    let root = gan_lab::test_scratch_dir("checkpoint_fuzz");
    let cfg = small();
    let base = trained(&root.join("base"), &cfg, 13);
    let mut other_cfg = cfg.clone();
    other_cfg.train.latent_size = 64;
    let other = trained(&root.join("other"), &other_cfg, 5);
    let state: Value = serde_json::from_str(&std::fs::read_to_string(base.checkpoint_dir(13).join("state.json")).unwrap()).unwrap();
    let mut all = Vec::new();
    paths(&state, "", &mut all);
    all.retain(|p| !p.is_empty());
    // the configuration has most of the fields: draw from it and from the rest in equal measure
    let (config, rest): (Vec<String>, Vec<String>) = all.into_iter().partition(|p| p.starts_with("/config/"));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let mut cases: Vec<(String, Box<dyn Fn(&Path)>)> = Vec::new();
    for i in 0..40 {
        let from = if i % 2 == 0 { &rest } else { &config };
        let path = from[rng.random_range(0..from.len())].clone();
        let (parent, key) = path.rsplit_once('/').unwrap();
        let new = mutate(state.pointer(&path).unwrap(), &mut rng);
        let (parent, key) = (parent.to_string(), key.to_string());
        cases.push((
            format!("state.json {i}: {path} := {}", new.as_ref().map_or("(deleted)".into(), |v| v.to_string().chars().take(40).collect::<String>())),
            Box::new(move |dir: &Path| {
                let p = dir.join("state.json");
                let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                let obj = s.pointer_mut(if parent.is_empty() { "" } else { &parent }).unwrap().as_object_mut().unwrap();
                match &new {
                    Some(v) => obj.insert(key.clone(), v.clone()),
                    None => obj.remove(&key),
                };
                std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
            }),
        ));
    }
    let swap = |a: &'static str, b: &'static str| {
        move |dir: &Path| {
            let tmp = dir.join("swap");
            std::fs::rename(dir.join(a), &tmp).unwrap();
            std::fs::rename(dir.join(b), dir.join(a)).unwrap();
            std::fs::rename(&tmp, dir.join(b)).unwrap();
        }
    };
    let from_other = |f: &'static str, other: PathBuf| move |dir: &Path| {
        std::fs::copy(other.join(f), dir.join(f)).unwrap();
    };
    let truncate = |f: &'static str| move |dir: &Path| {
        let b = std::fs::read(dir.join(f)).unwrap();
        std::fs::write(dir.join(f), &b[..b.len() * 2 / 3]).unwrap();
    };
    let flip = |f: &'static str, at: usize| move |dir: &Path| {
        let mut b = std::fs::read(dir.join(f)).unwrap();
        let i = at % b.len();
        b[i] ^= 0x5a;
        std::fs::write(dir.join(f), &b).unwrap();
    };
    let older = |f: &'static str, base: PathBuf| move |dir: &Path| {
        std::fs::copy(base.join(f), dir.join(f)).unwrap();
    };
    let other_ckpt = other.checkpoint_dir(5);
    let files: Vec<(String, Box<dyn Fn(&Path)>)> = vec![
        ("swap generator and discriminator".into(), Box::new(swap("generator.mpk", "discriminator.mpk"))),
        ("swap the optimisers".into(), Box::new(swap("g_optim.mpk", "d_optim.mpk"))),
        ("swap generator and its average".into(), Box::new(swap("generator.mpk", "generator_ema.mpk"))),
        ("swap metrics and generator".into(), Box::new(swap("metrics.parquet", "generator.mpk"))),
        ("generator of latent 64".into(), Box::new(from_other("generator.mpk", other_ckpt.clone()))),
        ("generator optimiser of latent 64".into(), Box::new(from_other("g_optim.mpk", other_ckpt.clone()))),
        ("average of latent 64".into(), Box::new(from_other("generator_ema.mpk", other_ckpt.clone()))),
        ("discriminator optimiser of step 10".into(), Box::new(older("d_optim.mpk", base.checkpoint_dir(10)))),
        ("truncated discriminator".into(), Box::new(truncate("discriminator.mpk"))),
        ("truncated optimiser".into(), Box::new(truncate("g_optim.mpk"))),
        ("flipped byte in the generator header".into(), Box::new(flip("generator.mpk", 40))),
        ("flipped byte in the optimiser".into(), Box::new(flip("d_optim.mpk", 5000))),
        ("flipped byte in the metrics".into(), Box::new(flip("metrics.parquet", 100))),
    ];
    for (name, f) in files {
        cases.push((format!("{name} (digests recorded before)"), Box::new(move |dir: &Path| f(dir))));
    }

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (i, (name, change)) in cases.iter().enumerate() {
        let copy = root.join(format!("case-{i}"));
        copy_tree(&base.path, &copy);
        let run = RunDir::open(&copy).unwrap();
        change(&run.checkpoint_dir(13));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_and_step(&run)));
        match result {
            Ok(r) => report.push(format!("{name}: {r:?}")),
            Err(_) => failures.push(format!("{name}: panicked")),
        }
        // the same change with digests that match it: only the deeper checks stand in the way
        if name.contains("digests recorded before") {
            let copy = root.join(format!("case-{i}-resealed"));
            copy_tree(&base.path, &copy);
            let run = RunDir::open(&copy).unwrap();
            change(&run.checkpoint_dir(13));
            reseal(&run.checkpoint_dir(13));
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_and_step(&run))) {
                Ok(r) => report.push(format!("{name}, resealed: {r:?}")),
                Err(_) => failures.push(format!("{name}, resealed: panicked")),
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:#?}");
    // Every file change without matching digests falls back to step 10.
    for line in report.iter().filter(|l| l.contains("digests recorded before):")) {
        assert!(line.ends_with("Ok(10)"), "{line}");
    }
    // Shape changes are caught by the deeper checks too.
    for what in ["generator of latent 64", "generator optimiser of latent 64", "average of latent 64", "swap the optimisers"] {
        let line = report.iter().find(|l| l.starts_with(what) && l.contains("resealed")).unwrap();
        assert!(line.ends_with("Ok(10)"), "{line}");
    }
}

#[test]
fn a_corrupt_newest_checkpoint_is_moved_aside_and_training_continues_from_the_previous_one() {
    let root = gan_lab::test_scratch_dir("checkpoint_fallback");
    let cfg = small();
    let run = trained(&root, &cfg, 13);
    let g = run.checkpoint_dir(13).join("generator.mpk");
    let mut bytes = std::fs::read(&g).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // one bit of one weight: decodes fine, only the digest can tell
    std::fs::write(&g, &bytes).unwrap();

    let bin = env!("CARGO_BIN_EXE_gan-lab");
    let out = std::process::Command::new(bin).args(["resume", run.path.to_str().unwrap(), "--steps", "5", "--quiet"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("note: checkpoint step-0000013 does not verify") && stderr.contains("generator.mpk: sha256") && stderr.contains("resuming from step 10"), "{stderr}");
    assert!(run.path.join("checkpoints/rejected-step-0000013/generator.mpk").is_file());
    // training went on from step 10 to a new checkpoint at step 15, which opens
    assert_eq!(run.latest_checkpoint().unwrap().map(|(s, _)| s), Some(15));
    assert_eq!(AnySession::open(run, Some(BackendKind::Flex), None).unwrap().step(), 15);
}
