//! `--intervene` (issue #11) and the `loss` command: per-token loss over a text file, with
//! or without interventions.

use std::path::Path;

use crate::engine::Engine;
use crate::input::{check_memory, cpu_run_bytes, read_file, AnyResult, MAX_PROMPT_BYTES};
use hybrid_core::eval::token_losses_by;
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
    let losses = token_losses_by(&ids, LOSS_CHUNK, m.config().vocab_size, |part| {
        eng.forward(part, true)
    })?;
    let mut out = String::from("position\tloss\ttoken\n");
    for (i, l) in losses.iter().enumerate() {
        let piece = tok.decode(&ids[i + 1..i + 2])?;
        out.push_str(&format!("{}\t{l:.4}\t{piece:?}\n", i + 1));
    }
    let mean = losses.iter().map(|&l| l as f64).sum::<f64>() / losses.len() as f64;
    out.push_str(&format!("mean loss: {mean:.4} ({} tokens)\n", losses.len()));
    Ok(out)
}
