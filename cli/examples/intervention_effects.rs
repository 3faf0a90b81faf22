//! The zoo's intervention table (issue #11): for each shipped model, recall accuracy and
//! the loss inside and past the training length, with and without an intervention, on
//! the CPU engine. Prints a Markdown table (docs/INTERVENTIONS.md holds its output).
//!
//! ```text
//! cargo run --release -p hybrid-cli --example intervention_effects [-- --quick]
//! ```
//!
//! - Recall: `hybrid recall`'s cases (seed 1), 16 pairs at 256 tokens (the training
//!   length) and at 512 (2x), `CASES` cases each.
//! - Loss: every non-overlapping 1,025-token window of the test split (The Tempest, then
//!   Twelfth Night, from `train/data_prepared/shakespeare/val.bin`, as the atlas metrics),
//!   the mean loss of positions 1-255 and 256-1023 (the models trained on 256 tokens).

use std::error::Error;
use std::path::Path;

use hybrid_core::eval::token_losses;
use hybrid_core::tasks::recall;
use hybrid_core::{ForwardOptions, Interventions, Model};

type AnyResult<T> = Result<T, Box<dyn Error>>;

/// Recall cases per length.
const CASES: usize = 64;
/// The training length of every zoo model.
const TRAIN_LEN: usize = 256;
/// Tokens per loss window (positions 0..1024 predict 1..1025).
const WINDOW: usize = 1024;

/// (model, interventions to try, each with a one-line meaning).
const PLAN: &[(&str, &[(&str, &str)])] = &[
    (
        "recall-transformer",
        &[
            (
                "L0.window=16 L1.window=16 L2.window=16 L3.window=16",
                "16-token window on every layer",
            ),
            ("L3.mixer=skip", "last attention layer skipped"),
        ],
    ),
    (
        "recall-inter",
        &[
            ("L1.mixer=skip", "its one attention layer skipped"),
            ("L1.window=16", "16-token window on its attention"),
            ("L0.ssm_reset@128", "layer 0 SSM state zeroed at token 128"),
        ],
    ),
    (
        "recall-intra",
        &[
            ("L1.attn=0", "attention branch zeroed"),
            ("L1.ssm=0", "SSM branch zeroed"),
            ("L1.branch_norm=off", "branch norms dropped"),
            ("L1.window=16", "16-token window on its attention branch"),
        ],
    ),
    (
        "recall-mamba2",
        &[(
            "L0.dt*0.5 L1.dt*0.5 L2.dt*0.5 L3.dt*0.5",
            "dt halved everywhere",
        )],
    ),
    (
        "shakespeare-transformer",
        &[(
            "L0.window=64 L1.window=64 L2.window=64 L3.window=64 L4.window=64 L5.window=64",
            "64-token window on every layer",
        )],
    ),
    (
        "shakespeare-inter",
        &[
            (
                "L1.window=64 L4.window=64",
                "64-token window on its attention layers",
            ),
            (
                "L1.mixer=skip L4.mixer=skip",
                "its attention layers skipped",
            ),
        ],
    ),
    (
        "shakespeare-intra",
        &[
            (
                "L1.window=64 L4.window=64",
                "64-token window on its attention branches",
            ),
            ("L1.attn=0 L4.attn=0", "attention branches zeroed"),
            ("L1.ssm=0 L4.ssm=0", "SSM branches zeroed"),
            (
                "L1.branch_norm=off L4.branch_norm=off",
                "branch norms dropped",
            ),
        ],
    ),
    (
        "shakespeare-mamba2",
        &[(
            "L0.dt*0.5 L1.dt*0.5 L2.dt*0.5 L3.dt*0.5 L4.dt*0.5 L5.dt*0.5",
            "dt halved everywhere",
        )],
    ),
];

fn main() -> AnyResult<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let windows = test_windows(&root.join("train/data_prepared/shakespeare"))?;
    let windows = &windows[..if quick { 2 } else { windows.len() }];
    let cases = if quick { 8 } else { CASES };
    println!("### Recall (16 pairs; trained at {TRAIN_LEN} tokens)\n");
    println!(
        "| model | intervention | recall @{TRAIN_LEN} | recall @{} |",
        2 * TRAIN_LEN
    );
    println!("|---|---|---|---|");
    for (name, m, iv, label) in runs(&root, "recall")? {
        let a = accuracy(&m, &iv, TRAIN_LEN, cases)?;
        let b = accuracy(&m, &iv, 2 * TRAIN_LEN, cases)?;
        println!("| {name} | {label} | {a:.1}% | {b:.1}% |");
    }
    println!("\n### Loss on the test split (trained at {TRAIN_LEN} tokens)\n");
    println!(
        "| model | intervention | loss 1-{} | loss {TRAIN_LEN}-{} |",
        TRAIN_LEN - 1,
        WINDOW - 1
    );
    println!("|---|---|---|---|");
    for (name, m, iv, label) in runs(&root, "shakespeare")? {
        let (inside, past) = window_losses(&m, &iv, windows)?;
        println!("| {name} | {label} | {inside:.3} | {past:.3} |");
    }
    let what = format!(
        "recall: {cases} cases (seed 1) per length, 16 pairs; loss: {} test windows of {WINDOW} tokens",
        windows.len()
    );
    println!("\n{what}; CPU engine.");
    Ok(())
}

/// (model name, model, set, label) for every row of the plan whose model name starts
/// with `prefix`: first the model without interventions, then each set.
fn runs(root: &Path, prefix: &str) -> AnyResult<Vec<(String, Model, Interventions, String)>> {
    let mut out = Vec::new();
    for (name, sets) in PLAN.iter().filter(|(n, _)| n.starts_with(prefix)) {
        let dir = root.join("assets/models").join(name);
        let load = || -> AnyResult<Model> {
            let cfg = std::fs::read(dir.join("config.json"))?;
            let weights = std::fs::read(dir.join("model.safetensors"))?;
            Ok(Model::from_bytes(&cfg, &weights)?)
        };
        out.push((
            name.to_string(),
            load()?,
            Interventions::none(),
            "none".into(),
        ));
        for (text, meaning) in *sets {
            let m = load()?;
            let iv = Interventions::parse(text)?;
            iv.plan(m.config())?;
            out.push((name.to_string(), m, iv, format!("`{text}`: {meaning}")));
        }
    }
    Ok(out)
}

/// Mean recall accuracy (%) over `cases` cases of 16 pairs at `len` tokens, seed 1.
fn accuracy(m: &Model, iv: &Interventions, len: usize, cases: usize) -> AnyResult<f32> {
    let batch = recall::make_batch(1, cases, 16, len)?;
    let opts = ForwardOptions {
        all_logits: true,
        ..Default::default()
    };
    let mut total = 0.0;
    for case in &batch {
        let out = m.forward_with(&mut m.new_state(), &case.tokens, opts, iv)?;
        total += recall::accuracy(case, &out.logits, m.config().vocab_size);
    }
    Ok(100.0 * total / batch.len().max(1) as f32)
}

/// Mean loss over positions 1..TRAIN_LEN and TRAIN_LEN..WINDOW of every window.
fn window_losses(m: &Model, iv: &Interventions, windows: &[Vec<u32>]) -> AnyResult<(f64, f64)> {
    let (mut inside, mut past) = ((0.0, 0usize), (0.0, 0usize));
    for w in windows {
        for (t, &l) in token_losses(m, w, 256, iv)?.iter().enumerate() {
            let acc = if t + 1 < TRAIN_LEN {
                &mut inside
            } else {
                &mut past
            };
            acc.0 += l as f64;
            acc.1 += 1;
        }
    }
    Ok((
        inside.0 / inside.1.max(1) as f64,
        past.0 / past.1.max(1) as f64,
    ))
}

/// Non-overlapping windows of WINDOW + 1 tokens of the test split: the val documents
/// (each starting with id 0, in meta.json's `val_works` order), Tempest then Twelfth Night.
fn test_windows(data: &Path) -> AnyResult<Vec<Vec<u32>>> {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("meta.json"))?)?;
    let works: Vec<&str> = meta["val_works"]
        .as_array()
        .ok_or("meta.json: no val_works")?
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let bytes = std::fs::read(data.join("val.bin"))?;
    let tokens: Vec<u32> = bytes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        .collect();
    let starts: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] == 0).collect();
    if starts.len() != works.len() {
        return Err(format!(
            "val.bin: {} documents, meta.json lists {}",
            starts.len(),
            works.len()
        )
        .into());
    }
    let mut test = Vec::new();
    for work in ["tempest", "twelfth_night"] {
        let i = works
            .iter()
            .position(|w| *w == work)
            .ok_or("no test work")?;
        let end = starts.get(i + 1).copied().unwrap_or(tokens.len());
        test.extend_from_slice(&tokens[starts[i]..end]);
    }
    Ok(test.chunks_exact(WINDOW + 1).map(|w| w.to_vec()).collect())
}
