//! The `gan-lab` command line as a user runs it: listings, training, tables, and bad input.


use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gan_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gan-lab")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let dir = gan_lab::test_scratch_dir(&format!("cli_{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `gan-lab` expecting failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let o = gan_lab(args);
    assert!(!o.status.success(), "expected failure: {args:?}\n{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn run_dirs(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
}

const QUICK: [&str; 10] = ["--steps", "10", "--set", "data.limit=64", "--set", "train.batch_size=16", "--set", "train.log_every=5", "--quiet", "--threads=2"];

#[test]
fn presets_lists_every_preset_on_one_line_each() {
    let o = gan_lab(&["presets"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert_eq!(text.lines().count(), gan_lab::config::presets().len(), "{text}");
    let names = ["goodfellow2014-mnist", "flux-mlp-mnist", "flux-dcgan-mnist", "dcgan28", "mlp-gan", "pytorch-dcgan64", "dcgan-emoji32"];
    for name in names.into_iter().chain(["lsgan-dcgan28", "hinge-dcgan28", "hinge-sn-dcgan28", "wgan-clip-mlp"]) {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
}

#[test]
fn a_shown_preset_is_a_config_file_that_trains() {
    let dir = temp("show");
    let o = gan_lab(&["presets", "--show", "mlp-gan"]);
    assert!(o.status.success());
    let cfg = dir.join("my.json");
    std::fs::write(&cfg, stdout(&o)).unwrap();
    let runs = dir.join("runs");
    let mut args = vec!["train", "--config", cfg.to_str().unwrap(), "--backend", "ndarray", "--set", "seed=7", "--runs-dir", runs.to_str().unwrap()];
    args.extend(QUICK);
    let o = gan_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("done: 10 steps"), "{}", stdout(&o));
    let run = &run_dirs(&runs)[0];
    let saved = gan_lab::config::ExperimentConfig::from_json_file(run.join("config.json")).unwrap();
    assert_eq!(saved.seed, 7);
    assert!(std::fs::read_to_string(run.join("platform.json")).unwrap().contains("\"ndarray\""));
}

#[test]
fn runs_prints_one_row_per_run() {
    let dir = temp("runs");
    let runs = dir.join("runs");
    for preset in ["dcgan28", "goodfellow2014-mnist"] {
        let mut args = vec!["train", "--preset", preset, "--runs-dir", runs.to_str().unwrap(), "--price-per-hour", "0.5"];
        args.extend(QUICK);
        let o = gan_lab(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let page = dir.join("runs.html");
    let o = gan_lab(&["runs", runs.to_str().unwrap(), "--html", page.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<table class=\"gan-lab-runs\">") && html.matches("<tr>").count() == 3, "{html}");
    let table = stdout(&o);
    assert!(table.contains("shape: (2,"), "{table}");
    for name in run_dirs(&runs) {
        let name = name.file_name().unwrap().to_string_lossy().into_owned();
        assert!(table.contains(&name[..20]), "{name} missing:\n{table}");
    }
    assert!(table.contains("goodfellow2014-mnist") && table.contains("dcgan28"), "{table}");
}

#[test]
fn training_on_a_folder_of_own_images_works() {
    let dir = temp("folder");
    let images = dir.join("art");
    std::fs::create_dir_all(images.join("nested")).unwrap();
    for i in 0..40u8 {
        let img = image::RgbImage::from_fn(20 + i as u32 % 3, 20, |x, y| image::Rgb([i * 6, (x * 12) as u8, (y * 12) as u8]));
        let sub = if i % 2 == 0 { images.clone() } else { images.join("nested") };
        img.save(sub.join(format!("{i}.png"))).unwrap();
    }
    std::fs::write(images.join("LICENSE.txt"), "mine").unwrap();
    let runs = dir.join("runs");
    let data = format!("data.dataset={}", images.display());
    let mut args = vec!["train", "--preset", "dcgan-emoji32", "--set", &data, "--runs-dir", runs.to_str().unwrap()];
    args.extend(QUICK);
    let o = gan_lab(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: skipped 1 files that are not .png/.jpg/.jpeg images (e.g. "), "{}", stderr(&o));
    assert_eq!(run_dirs(&runs).len(), 1);
}

#[test]
fn an_unknown_preset_or_backend_is_one_clear_sentence() {
    let err = fails(&["train", "--preset", "dcgan-29"]);
    assert!(err.contains("unknown preset 'dcgan-29'; known: goodfellow2014-mnist"), "{err}");
    let err = fails(&["train", "--preset", "dcgan28", "--backend", "tpu"]);
    assert!(err.contains("unknown backend 'tpu'"), "{err}");
}

#[test]
fn an_invalid_config_file_lists_every_broken_rule_and_creates_no_run() {
    let dir = temp("invalid");
    let mut v: serde_json::Value = serde_json::from_str(&stdout(&gan_lab(&["presets", "--show", "dcgan28"]))).unwrap();
    v["discriminator"]["dropout"]["hidden"] = 1.5.into();
    v["train"]["batch_size"] = 0.into();
    let cfg = dir.join("bad.json");
    std::fs::write(&cfg, v.to_string()).unwrap();
    let runs = dir.join("runs");
    let err = fails(&["train", "--config", cfg.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("bad.json: invalid configuration") && err.contains("discriminator.dropout.hidden must be in [0, 1), got 1.5"), "{err}");
    assert!(err.contains("train.batch_size must be ≥ 2, got 0"), "{err}");
    assert!(run_dirs(&runs).is_empty());

    v["discriminator"]["dropout"]["hidden"] = 0.into();
    v["train"]["batchsize"] = 64.into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let err = fails(&["train", "--config", cfg.to_str().unwrap(), "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("bad.json") && err.contains("unknown field `batchsize`"), "{err}");
}

#[test]
fn broken_datasets_give_an_error_naming_the_file_and_create_no_run() {
    let dir = temp("baddata");
    let runs = dir.join("runs");
    let good = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/mnist10k/mnist10k-images-idx3-ubyte.gz")).unwrap();
    let truncated = dir.join("truncated.gz");
    std::fs::write(&truncated, &good[..good.len() / 3]).unwrap();
    let data = |p: &Path| format!("data.dataset={}", p.display());
    let err = fails(&["train", "--preset", "dcgan28", "--set", &data(&truncated), "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("truncated.gz") && err.contains("corrupt or truncated"), "{err}");

    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = fails(&["train", "--preset", "dcgan28", "--set", &data(&empty), "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("no .png/.jpg/.jpeg images found"), "{err}");

    let err = fails(&["train", "--preset", "dcgan28", "--set", "data.dataset=no/such/place", "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("no/such/place"), "{err}");
    let err = fails(&["train", "--preset", "dcgan28", "--set", "train.batchsize=16", "--runs-dir", runs.to_str().unwrap()]);
    assert!(err.contains("settings train.batchsize=16: unknown field `batchsize`"), "{err}");
    assert!(run_dirs(&runs).is_empty());
}

#[test]
fn runs_on_a_missing_folder_fails_cleanly() {
    let err = fails(&["runs", "/no/such/runs"]);
    assert!(err.contains("/no/such/runs"), "{err}");
}

#[test]
fn doctor_reports_every_backend_the_kernel_the_caches_and_the_platform_record() {
    let out = gan_lab(&["doctor"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for item in ["backend flex", "backend ndarray", "backend cuda", "backend wgpu", "rust toolchain", "nvidia gpu", "cuda driver", "nvrtc", "cuda headers", "evcxr kernel", "build cache"].into_iter().chain(cfg!(target_os = "linux").then_some(["vulkan loader", "vulkan drivers"]).into_iter().flatten()) {
        assert!(text.lines().any(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ").starts_with(item)), "no '{item}' line in:\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("ok      backend flex ")), "{text}");
    assert!(text.contains("platform record of a run here") && text.contains("\"logical_cores\""), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&gan_lab(&["doctor", "--json"]).stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| ["ok", "missing", "info"].contains(&c["status"].as_str().unwrap())), "{json}");
    assert_eq!(json["platform"]["backend"], "flex");
}

/// doctor looks for the CUDA headers where burn-cuda's compiler will: CUDA_PATH first. Two fake
/// toolkits, one without the headers and one with them.
#[test]
fn doctor_finds_the_cuda_headers_in_the_toolkit_cuda_path_names() {
    let dir = temp("doctor_cuda_path");
    let headers = |toolkit: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_gan-lab")).args(["doctor", "--json"]).env("CUDA_PATH", toolkit).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let check = json["checks"].as_array().unwrap().iter().find(|c| c["item"] == "cuda headers").cloned().expect("a cuda headers line");
        (check["status"].as_str().unwrap().to_string(), check["detail"].as_str().unwrap().to_string())
    };
    let bare = dir.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let (status, detail) = headers(&bare);
    assert_eq!(status, "info");
    assert!(detail.starts_with(&format!("{} not found", bare.join("include/cuda_runtime.h").display())), "{detail}");
    let full = dir.join("full");
    std::fs::create_dir_all(full.join("include")).unwrap();
    std::fs::write(full.join("include/cuda_runtime.h"), "").unwrap();
    assert_eq!(headers(&full), ("ok".to_string(), full.join("include/cuda_runtime.h").display().to_string()));
}

#[test]
fn compare_losses_needs_steps_in_common() {
    let dir = temp("compare");
    let runs = dir.join("runs");
    let out = gan_lab(&["train", "--preset", "mlp-gan", "--steps", "3", "--set", "data.limit=512", "--set", "train.log_every=1", "--runs-dir", runs.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = run_dirs(&runs).remove(0);
    let same = gan_lab(&["compare-losses", run.to_str().unwrap(), run.to_str().unwrap(), "--steps", "3"]);
    assert!(same.status.success() && stdout(&same).contains("agree: largest relative difference 0.00e0"), "{}", stdout(&same));
    let err = fails(&["compare-losses", run.to_str().unwrap(), dir.to_str().unwrap()]);
    assert!(err.contains("not a run directory"), "{err}");
}

/// `gan-lab presets --show dcgan28 | true`: the reader is gone before the command writes; the
/// command ends without a panic message (it panicked on "failed printing to stdout: Broken pipe").
#[test]
fn a_printing_command_ends_quietly_when_its_reader_closes_the_pipe() {
    use std::process::Stdio;
    for args in [&["presets", "--show", "dcgan28"][..], &["presets"][..], &["doctor"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gan-lab"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // close the read end at once: the process is still starting, so its first write finds no reader
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// `--minutes` outside what a time budget can be is refused when the arguments are read: a clean
/// error (1e300 panicked converting to a Duration) and no run directory (NaN created one first).
#[test]
fn absurd_minutes_are_refused_before_a_run_directory_is_created() {
    let runs = temp("minutes").join("runs");
    for (minutes, message) in [("1e300", "--minutes is too large for a time budget, got 1e300"), ("NaN", "--minutes must be a number > 0, got NaN"), ("-5", "--minutes must be a number > 0, got -5.0")] {
        let o = gan_lab(&["train", "--preset", "mlp-gan", &format!("--minutes={minutes}"), "--runs-dir", runs.to_str().unwrap()]);
        let err = stderr(&o);
        assert!(!o.status.success() && err.contains(message) && !err.contains("panicked"), "{minutes}: {err}");
    }
    assert!(run_dirs(&runs).is_empty());
}
