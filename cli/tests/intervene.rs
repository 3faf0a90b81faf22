//! `hybrid recall | loss | generate --intervene` (issue #11): the flags reach the engine
//! (recall of the intra model falls with its attention branch zeroed), `loss` prints the
//! losses the engine computes, and bad interventions are clear errors.

mod common;

use common::{hybrid as ok, model_dir, run};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use hybrid_core::{ForwardOptions, Interventions, Model, Tokenizer};

/// The percentage in `recall accuracy: 96.7% (...)`.
fn accuracy(out: &str) -> f32 {
    let pct = out.split(':').nth(1).and_then(|r| r.split('%').next());
    pct.and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {out:?}"))
}

#[test]
fn zeroing_the_attention_branch_of_the_intra_model_breaks_recall() {
    let dir = model_dir("recall-intra");
    let dir = dir.to_str().expect("utf-8 path");
    let base = ["recall", dir, "--cases", "8"];
    let plain = accuracy(&ok(&base));
    let short = ok(&[&base[..], &["--intervene", "L1.attn=0"]].concat());
    let json = r#"[{"kind":"branch_scale","layer":1,"branch":"attn","scale":0}]"#;
    assert_eq!(ok(&[&base[..], &["--intervene", json]].concat()), short);
    let zeroed = accuracy(&short);
    assert!(
        plain > 80.0 && zeroed < 20.0,
        "recall {plain}% -> {zeroed}%"
    );
    // the SSM branch matters far less for recall
    let ssm = accuracy(&ok(&[&base[..], &["--intervene", "L1.ssm=0"]].concat()));
    assert!(ssm > 60.0, "recall with the SSM branch zeroed: {ssm}%");
}

const TEXT: &str = "ALONSO, King of Naples\nSEBASTIAN, his brother\n\
PROSPERO, the right Duke of Milan\nANTONIO, his brother, the usurping Duke of Milan\n";

/// (per-token losses, mean) printed by `hybrid loss`.
fn loss(id: &str, text: &Path, iv: &[&str]) -> (Vec<f32>, f32) {
    let dir = model_dir(id);
    let args = [
        &[
            "loss",
            dir.to_str().expect("utf-8"),
            text.to_str().expect("utf-8"),
        ][..],
        iv,
    ];
    let out = ok(&args.concat());
    let mut lines: Vec<&str> = out.lines().collect();
    let last = lines.pop().expect("a mean line");
    let mean = (last
        .strip_prefix("mean loss: ")
        .and_then(|r| r.split(' ').next()))
    .and_then(|m| m.parse().ok())
    .unwrap_or_else(|| panic!("no mean in {last:?}"));
    assert_eq!(lines.first(), Some(&"position\tloss\ttoken"));
    let per = (lines[1..].iter())
        .map(|l| {
            l.split('\t')
                .nth(1)
                .and_then(|x| x.parse().ok())
                .expect("loss")
        })
        .collect();
    (per, mean)
}

#[test]
fn loss_prints_the_engines_per_token_loss_with_and_without_interventions() {
    let text = std::env::temp_dir().join(format!("hybrid-loss-{}.txt", std::process::id()));
    std::fs::write(&text, TEXT).expect("write text");
    let dir = model_dir("shakespeare-inter");
    let read = |f: &str| std::fs::read(dir.join(f)).expect("zoo file");
    let m = Model::from_bytes(&read("config.json"), &read("model.safetensors")).expect("model");
    let tok = Tokenizer::from_bytes(&read("tokenizer.json")).expect("tokenizer");
    let ids = tok.encode(TEXT).expect("encode");
    for iv in ["", "L1.window=8;L2.ssm_reset@20"] {
        let set = Interventions::parse(iv).expect("valid");
        let flags: Vec<&str> = if iv.is_empty() {
            vec![]
        } else {
            vec!["--intervene", iv]
        };
        let (per, mean) = loss("shakespeare-inter", &text, &flags);
        // the same losses from the engine directly, in one prefill
        let opts = ForwardOptions {
            all_logits: true,
            ..Default::default()
        };
        let run = m.forward_with(&mut m.new_state(), &ids[..ids.len() - 1], opts, &set);
        let logits = run.expect("forward").logits;
        let v = m.config().vocab_size;
        assert_eq!(per.len(), ids.len() - 1);
        for (t, (row, &l)) in logits.chunks_exact(v).zip(&per).enumerate() {
            let lse = row.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
            let want = (lse - row[ids[t + 1] as usize] as f64) as f32;
            assert!((l - want).abs() < 1e-3, "{iv:?} token {t}: {l} vs {want}");
        }
        let avg = per.iter().sum::<f32>() / per.len() as f32;
        assert!((avg - mean).abs() < 1e-3, "{iv:?}: mean {mean} vs {avg}");
    }
    let (_, plain) = loss("shakespeare-inter", &text, &[]);
    let (_, skipped) = loss(
        "shakespeare-inter",
        &text,
        &["--intervene", "L1.mixer=skip"],
    );
    assert!(
        skipped > plain + 0.05,
        "skipping the attention mixer: {plain} -> {skipped}"
    );
    std::fs::remove_file(&text).ok();
}

#[test]
fn bad_interventions_are_clear_errors() {
    let dir = model_dir("recall-intra");
    let dir = dir.to_str().expect("utf-8");
    for (flag, part) in [
        ("L1.atn=0", "`atn=0` is not an intervention"),
        ("L7.attn=0", "layer 7 does not exist"),
        ("L0.window=4", "layer 0 (Mamba) has no attention"),
        ("[{\"kind\":\"nope\"}]", "JSON"),
    ] {
        for cmd in [
            &["recall", dir, "--cases", "1"][..],
            &["generate", dir, "-n", "2"],
        ] {
            let (code, _, stderr) = run(&[cmd, &["--intervene", flag]].concat());
            assert_eq!(code, 1, "{flag}: {stderr}");
            assert!(
                stderr.contains("--intervene") && stderr.contains(part),
                "{flag}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn generate_with_an_intervention_runs_and_a_closed_pipe_ends_loss_quietly() {
    let dir = model_dir("shakespeare-intra");
    let dir = dir.to_str().expect("utf-8");
    let greedy = ["generate", dir, "-p", "KING", "-n", "12", "-t", "0"];
    let plain = ok(&greedy);
    let skipped = ok(&[&greedy[..], &["--intervene", "L1.mixer=skip;L4.ffn=skip"]].concat());
    assert!(
        skipped.starts_with("KING") && skipped != plain,
        "{plain:?} vs {skipped:?}"
    );
    // `hybrid loss ... | head -1`
    let text = std::env::temp_dir().join(format!("hybrid-pipe-{}.txt", std::process::id()));
    // over 64 KiB of output: more than a pipe holds
    std::fs::write(&text, TEXT.repeat(100)).expect("write text");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hybrid"))
        .args(["loss", dir, text.to_str().expect("utf-8"), "-n", "6000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(first, "position\tloss\ttoken\n");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    std::fs::remove_file(&text).ok();
}
