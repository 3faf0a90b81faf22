//! `hybrid bench --threads`: the CPU engine timed at each thread count in turn, each row
//! naming its count; a count of 0 is refused before anything runs.

mod common;

use common::{hybrid, run};

#[test]
fn bench_times_each_thread_count_and_refuses_zero() {
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/configs/playground-mamba2.json"
    );
    let out = hybrid(&[
        "bench",
        cfg,
        "-c",
        "16",
        "-d",
        "2",
        "--prefill-runs",
        "1",
        "--threads",
        "1,2",
    ]);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("playground-mamba2"))
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("cpu, 1 thread |"), "{out}");
    assert!(rows[1].contains("cpu, 2 threads |"), "{out}");
    let (code, _, err) = run(&["bench", cfg, "--threads", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("--threads"), "{err}");
}
