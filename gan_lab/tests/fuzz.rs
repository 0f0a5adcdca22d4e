//! Bounded fuzzing of the readers: mutated IDX files and mutated checkpoints must give an error
//! (or, for harmless mutations, a result) — never a panic.


use gan_lab::config::preset;
use gan_lab::data::{parse_idx, read_idx, write_idx};
use gan_lab::platform::{AnySession, BackendKind};
use gan_lab::run::RunDir;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut XorShift, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => b.truncate(rng.below(b.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                if !b.is_empty() {
                    b[i] ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let i = rng.below(b.len());
            let extra: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            b.splice(i..i, extra);
        }
        _ => {
            let n = rng.below(b.len().min(16) + 1);
            for v in b.iter_mut().take(n) {
                *v = rng.next() as u8;
            }
        }
    }
    b
}

#[test]
fn five_thousand_mutated_idx_files_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut good = vec![0u8, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 3];
    good.extend((0..36).map(|i| i as u8));
    let dir = gan_lab::test_scratch_dir("fuzz_idx");
    std::fs::create_dir_all(&dir).unwrap();
    write_idx(dir.join("good.gz"), &[4, 3, 3], &good[16..]).unwrap();
    let gz = std::fs::read(dir.join("good.gz")).unwrap();
    let (mut ok, mut err) = (0, 0);
    for i in 0..5000 {
        let outcome = if i % 2 == 0 {
            parse_idx(&mutate(&mut rng, &good)).map(|_| ())
        } else {
            let path = dir.join("m.gz");
            std::fs::write(&path, mutate(&mut rng, &gz)).unwrap();
            read_idx(&path).map(|_| ()).map_err(|e| e.to_string())
        };
        match outcome {
            Ok(()) => ok += 1,
            Err(_) => err += 1,
        }
    }
    assert!(err > 2500, "most mutations are caught: {ok} ok, {err} errors");
}

#[test]
fn mutated_checkpoints_give_errors_not_panics() {
    let root = gan_lab::test_scratch_dir("fuzz_ckpt");
    let mut cfg = preset("mlp-gan").unwrap();
    cfg.train.batch_size = 8;
    cfg.data.limit = Some(32);
    cfg.train.log_every = 2;
    cfg.train.sample_count = 4;
    let run = RunDir::create(&root, &cfg).unwrap();
    let mut s = AnySession::new(cfg, BackendKind::Flex, None, Some(run.clone())).unwrap();
    s.set_verbose(false);
    s.train_steps(4).unwrap();
    drop(s);
    let ckpt = run.checkpoint_dir(4);
    let files = ["state.json", "generator.mpk", "discriminator.mpk", "g_optim.mpk", "d_optim.mpk", "metrics.parquet"];
    let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
    let mut errors = 0;
    for trial in 0..36 {
        let file = ckpt.join(files[trial % files.len()]);
        let original = std::fs::read(&file).unwrap();
        std::fs::write(&file, mutate(&mut rng, &original)).unwrap();
        let outcome = std::panic::catch_unwind(|| AnySession::open(run.clone(), Some(BackendKind::Flex), None).map(|_| ()));
        std::fs::write(&file, &original).unwrap();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                errors += 1;
                let msg = e.to_string();
                assert!(msg.contains("step-0000004"), "the error names the checkpoint: {msg}");
            }
            Err(_) => panic!("trial {trial}: opening a mutated {} panicked", file.display()),
        }
    }
    assert!(errors >= 18, "most mutations are detected: {errors} of 36");
    AnySession::open(run, Some(BackendKind::Flex), None).expect("the restored checkpoint opens");
}
