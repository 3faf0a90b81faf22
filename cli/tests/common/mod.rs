//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of the bundled model `id` (assets/models/<id>).
pub fn model_dir(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models")
        .join(id)
}

/// Run `hybrid` with `args`: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    run_with_env(args, &[])
}

/// Run `hybrid` with `args` and the environment variables `env` set.
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hybrid"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run hybrid");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Run `hybrid` with `args`; its stdout, or a panic with stderr.
pub fn hybrid(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "hybrid {args:?} failed:\n{stderr}");
    stdout
}
