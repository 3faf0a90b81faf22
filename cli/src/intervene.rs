//! `--intervene` (issue #11) and the `loss` command: per-token loss over a text file, with
//! or without interventions.

use std::path::Path;

use crate::engine::Engine;
use crate::input::{check_memory, cpu_run_bytes, read_file, AnyResult, MAX_PROMPT_BYTES};
use hybrid_core::{Interventions, Model, Tokenizer};

/// Tokens per forward call of `loss` (bounds the [chunk, V] logits held at once).
pub const LOSS_CHUNK: usize = 256;

/// The set given by the `--intervene` flags (each JSON or short syntax), checked against
/// `m`'s config so that a bad one fails before any work.
pub fn parse_flags(flags: &[String], m: &Model) -> AnyResult<Interventions> {
    let mut all = Interventions::none();
    for f in flags {
        let set = Interventions::parse(f).map_err(|e| format!("--intervene {f:?}: {e}"))?;
        all.0.extend(set.0);
    }
    all.plan(m.config())
        .map_err(|e| format!("--intervene: {e}"))?;
    if !all.is_empty() {
        eprintln!("interventions: {all}");
    }
    Ok(all)
}

/// Per-token loss of `m` over the text in `file` on `backend` (cpu or gpu): one line per
/// predicted token (`position  loss  "token"`), then the mean. At most `max_tokens` tokens
/// are read.
pub fn loss_report(
    m: &Model,
    tok: &Tokenizer,
    file: &Path,
    max_tokens: usize,
    (backend, iv): (&str, &Interventions),
) -> AnyResult<String> {
    let bytes = read_file(file, "text", MAX_PROMPT_BYTES)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("text: {}: not UTF-8", file.display()))?;
    let mut ids = tok.encode(&text)?;
    ids.truncate(max_tokens);
    if ids.len() < 2 {
        return Err(format!(
            "text: {} holds {} token(s): a loss needs at least 2",
            file.display(),
            ids.len()
        )
        .into());
    }
    check_memory(
        &format!("the loss over {} tokens", ids.len()),
        cpu_run_bytes(m.config(), ids.len(), LOSS_CHUNK, true),
    )?;
    let mut eng = Engine::new(backend, m, iv, ids.len(), LOSS_CHUNK)?;
    let losses = token_losses(&mut eng, m.config().vocab_size, &ids)?;
    let mut out = String::from("position\tloss\ttoken\n");
    for (i, l) in losses.iter().enumerate() {
        let piece = tok.decode(&ids[i + 1..i + 2])?;
        out.push_str(&format!("{}\t{l:.4}\t{piece:?}\n", i + 1));
    }
    let mean = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len() as f64;
    out.push_str(&format!("mean loss: {mean:.4} ({} tokens)\n", losses.len()));
    Ok(out)
}

/// -log p(ids[t+1] | ids[..=t]) for every t (vocabulary `v`), the run fed `LOSS_CHUNK`
/// tokens at a time.
pub fn token_losses(eng: &mut Engine, v: usize, ids: &[u32]) -> AnyResult<Vec<f32>> {
    let mut losses = Vec::with_capacity(ids.len().saturating_sub(1));
    let inputs = &ids[..ids.len().saturating_sub(1)];
    for (c, chunk) in inputs.chunks(LOSS_CHUNK).enumerate() {
        let logits = eng.forward(chunk, true)?;
        for (i, row) in logits.chunks_exact(v).enumerate() {
            let target = ids.get(c * LOSS_CHUNK + i + 1).copied().unwrap_or(0) as usize;
            losses.push(cross_entropy(row, target));
        }
    }
    Ok(losses)
}

/// -log softmax(row)[target], in f64.
fn cross_entropy(row: &[f32], target: usize) -> f32 {
    let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    let logit = row.get(target).copied().unwrap_or(f32::NEG_INFINITY) as f64;
    (max + sum.ln() - logit) as f32
}
