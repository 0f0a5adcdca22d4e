//! Hostile and huge datasets through `gan-lab train` under a memory cap (`ulimit -v`): each is a
//! clean error naming the file, or a bounded run; none aborts the process or creates a run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gan_lab::data::write_idx;

/// The address-space cap the commands run under: far below what the bombs claim, well above what
/// a short dcgan28 run needs.
const CAP_KB: u64 = 3_000_000;

fn capped(args: &[&str]) -> Output {
    let script = format!("ulimit -v {CAP_KB} && exec \"$0\" \"$@\"");
    Command::new("sh").arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_gan-lab")).args(args).output().unwrap()
}

fn train(dataset: &Path, runs: &Path, extra: &[&str]) -> Output {
    let data = format!("data.dataset={}", dataset.display());
    let mut args = vec!["train", "--preset", "dcgan28", "--set", &data, "--runs-dir", runs.to_str().unwrap(), "--quiet", "--threads=2"];
    args.extend_from_slice(extra);
    capped(&args)
}

/// stderr of a failed run that created no run directory.
fn refused(o: &Output, runs: &Path) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: ") && !err.contains("panicked") && !err.contains("memory allocation"), "{err}");
    assert!(std::fs::read_dir(runs).map(|d| d.count()).unwrap_or(0) == 0, "a refused dataset created a run");
    err
}

fn dir(name: &str) -> PathBuf {
    let d = gan_lab::test_scratch_dir(&format!("hostile_{name}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 160 kB gzip file whose header claims a million 500×500 images (250 GB), holding 150.
#[test]
fn a_dataset_that_cannot_fit_is_refused_with_its_size_and_data_limit_reads_only_its_head() {
    let d = dir("claim");
    let bomb = d.join("claims-a-million.gz");
    write_idx(&bomb, &[1_000_000, 500, 500], &vec![0u8; 150 * 500 * 500]).unwrap();
    let runs = d.join("runs");
    let err = refused(&train(&bomb, &runs, &["--steps", "2"]), &runs);
    assert!(err.contains("claims-a-million.gz': 1000000 images of 250784 bytes need 250.8 GB in memory"), "{err}");
    assert!(err.contains("load fewer with data.limit (e.g. --set data.limit="), "{err}");

    // the first 64 are read, resized to 28×28 and trained on; the 999,850 missing ones never matter
    let o = train(&bomb, &runs, &["--steps", "2", "--set", "data.limit=64", "--set", "train.batch_size=16"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // asking for more than the file holds names the file and what it has
    let _ = std::fs::remove_dir_all(&runs);
    let err = refused(&train(&bomb, &runs, &["--set", "data.limit=200"]), &runs);
    assert!(err.contains("the first 200 items of dimensions [1000000, 500, 500] need 50000000 bytes of data but the file has 37500000"), "{err}");
}

/// A gzip file that announces 2 images but inflates to 200 MB stops after what it announced; a
/// plain file that claims more than its length fails when opened.
#[test]
fn a_gzip_bomb_and_a_lying_plain_file_are_errors() {
    let d = dir("gzip");
    let runs = d.join("runs");
    let bomb = d.join("inflates.gz");
    write_idx(&bomb, &[2, 28, 28], &vec![0u8; 200 << 20]).unwrap();
    let err = refused(&train(&bomb, &runs, &[]), &runs);
    assert!(err.contains("inflates.gz: dimensions [2, 28, 28] need 1568 bytes of data but the file has 1569 or more"), "{err}");
    let liar = d.join("liar.idx");
    write_idx(&liar, &[4_000_000_000, 28, 28], &[0u8; 28 * 28 * 3]).unwrap();
    let err = refused(&train(&liar, &runs, &[]), &runs);
    assert!(err.contains("liar.idx: dimensions [4000000000, 28, 28] need 3136000000000 bytes of data but the file has 2352"), "{err}");
}

/// An image folder with a 100,000 × 100,000 PNG (70 bytes on disk): refused from its header.
/// A folder with a symlink loop trains on each image once.
#[test]
fn an_image_bomb_is_refused_and_a_symlink_loop_ends() {
    let d = dir("folder");
    let runs = d.join("runs");
    let images = d.join("images");
    std::fs::create_dir_all(images.join("sub")).unwrap();
    for i in 0..8u8 {
        image::GrayImage::from_pixel(28, 28, image::Luma([i * 30])).save(images.join(format!("sub/{i}.png"))).unwrap();
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(&images, images.join("sub/loop")).unwrap();
    let o = train(&images, &runs, &["--steps", "2", "--set", "train.batch_size=4", "--set", "data.channels=1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let huge = images.join("sub/huge.png");
    image::GrayImage::from_pixel(1, 1, image::Luma([0])).save(&huge).unwrap();
    let mut png = std::fs::read(&huge).unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(&huge, &png).unwrap();
    let _ = std::fs::remove_dir_all(&runs);
    let err = refused(&train(&images, &runs, &["--steps", "2"]), &runs);
    assert!(err.contains("huge.png: not a readable image") && err.contains("limit"), "{err}");
}
