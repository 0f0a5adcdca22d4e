//! Embeds the git commit the engine was built from (when built inside a git checkout), so every
//! run's platform.json can say which code produced it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Only the engine records the commit. Without it (the notebook kernel's build) nothing here
    // may depend on git: every commit would recompile gan_lab under the notebooks that are open.
    if std::env::var_os("CARGO_FEATURE_ENGINE").is_none() {
        println!("cargo:rustc-env=GAN_LAB_GIT_COMMIT=");
        return;
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=GAN_LAB_GIT_COMMIT={commit}");
    for path in ["../.git/HEAD", "../.git/refs/heads"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
