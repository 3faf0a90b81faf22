//! What the user points a command at, read with care: regular files only (a FIFO would
//! hang, `/dev/zero` would grow until memory runs out), a size cap per kind of file, the
//! path in every message, and memory checked before anything large is allocated.

use std::io::Read;
use std::path::Path;

use hybrid_core::ModelConfig;

pub type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Largest `config.json` read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest `tokenizer.json` read.
pub const MAX_TOKENIZER_BYTES: u64 = 256 << 20;
/// Largest prompt read from a file or standard input.
pub const MAX_PROMPT_BYTES: u64 = 64 << 20;

/// Read a regular file of at most `max` bytes; `what` names it in errors.
pub fn read_file(path: &Path, what: &str, max: u64) -> AnyResult<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what}: {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{what}: {} is not a regular file (a folder, FIFO or device): refusing to read it",
            path.display()
        )
        .into());
    }
    if meta.len() > max {
        return Err(format!(
            "{what}: {} is {} bytes, over the {max}-byte limit for this kind of file",
            path.display(),
            meta.len()
        )
        .into());
    }
    let file = std::fs::File::open(path).map_err(|e| format!("{what}: {}: {e}", path.display()))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` guards against a file that grows while it is read
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{what}: {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{what}: {} grew past {max} bytes while read",
            path.display()
        )
        .into());
    }
    Ok(bytes)
}

/// The prompt: `--prompt` text, or `--prompt-file` (a path, or `-` for standard input).
pub fn prompt(text: Option<String>, file: Option<&Path>) -> AnyResult<String> {
    let bytes = match (text, file) {
        (Some(_), Some(_)) => {
            return Err("give the prompt either as --prompt or as --prompt-file, not both".into())
        }
        (Some(t), None) => return Ok(t),
        (None, None) => return Ok(String::new()),
        (None, Some(p)) if p == Path::new("-") => {
            let mut b = Vec::new();
            std::io::stdin()
                .take(MAX_PROMPT_BYTES + 1)
                .read_to_end(&mut b)
                .map_err(|e| format!("--prompt-file -: standard input: {e}"))?;
            if b.len() as u64 > MAX_PROMPT_BYTES {
                return Err(format!(
                    "--prompt-file -: standard input is over {MAX_PROMPT_BYTES} bytes"
                )
                .into());
            }
            b
        }
        (None, Some(p)) => read_file(p, "--prompt-file", MAX_PROMPT_BYTES)?,
    };
    String::from_utf8(bytes)
        .map_err(|e| format!("--prompt-file: the text is not UTF-8 ({e})").into())
}

/// Bytes of memory the system can still give (Linux `MemAvailable`), if known.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Refuse to start work that needs more memory than is available.
pub fn check_memory(what: &str, bytes: u64) -> AnyResult<()> {
    match available_memory() {
        Some(avail) if bytes > avail => Err(format!(
            "{what} needs about {} of memory, more than the {} available: refusing to start",
            human(bytes),
            human(avail)
        )
        .into()),
        _ => Ok(()),
    }
}

/// Memory the CPU engine needs to run a loaded model to a context: the cache at
/// `context` tokens and the activations of a forward over `chunk` tokens (logits of
/// every row when `all_logits`). An upper bound, for refusing early.
pub fn cpu_run_bytes(cfg: &ModelConfig, context: usize, chunk: usize, all_logits: bool) -> u64 {
    let cache = cfg.cache_bytes(context) as u64;
    let widest = cfg
        .mamba_dims()
        .map_or(0, |m| 3 * m.in_proj_dim() + 2 * m.d_inner())
        .max(
            cfg.attn_dims()
                .map_or(0, |a| 3 * (a.q_dim() + a.kv_row() + a.o_dim())),
        )
        .max(cfg.intra_mamba_dims().map_or(0, |m| 3 * m.in_proj_dim()))
        .max(
            cfg.intra_attn_dims()
                .map_or(0, |a| 3 * (a.q_dim() + a.kv_row() + a.o_dim())),
        );
    let row = (4 * cfg.d_model + 3 * cfg.d_ffn + widest) as u64;
    let logits = if all_logits { chunk as u64 } else { 1 } * cfg.vocab_size as u64;
    let acts = (chunk as u64).saturating_mul(row).saturating_add(logits);
    cache.saturating_add(acts.saturating_mul(4))
}

/// Bytes as KiB / MiB / GiB.
pub fn human(b: u64) -> String {
    let b = b as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}
