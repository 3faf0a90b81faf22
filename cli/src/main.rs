//! `hybrid`: generate text, inspect a checkpoint, and score recall, on the CPU engine.

mod bench;
mod engine;
mod generate;
mod hf;
mod input;
mod inspect;
mod intervene;

use std::io::Write;
use std::path::{Path, PathBuf};

use input::{check_memory, cpu_run_bytes, read_file, AnyResult};

use clap::{Parser, Subcommand};
use hybrid_core::tasks::recall;
use hybrid_core::{Model, ModelConfig, SamplingParams, Tokenizer};

#[derive(Parser)]
#[command(
    name = "hybrid",
    about = "Hybrid attention + Mamba-2 language models",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate text from a model folder (config.json, model.safetensors, tokenizer.json).
    Generate {
        model: PathBuf,
        /// The prompt text.
        #[arg(short, long)]
        prompt: Option<String>,
        /// Read the prompt from this file (`-`: standard input).
        #[arg(long)]
        prompt_file: Option<PathBuf>,
        /// Tokens to generate.
        #[arg(short = 'n', long, default_value_t = 100)]
        max_tokens: usize,
        /// 0 = greedy.
        #[arg(short, long, default_value_t = 0.8)]
        temperature: f32,
        /// 0 = off.
        #[arg(long, default_value_t = 40)]
        top_k: usize,
        /// 1 = off.
        #[arg(long, default_value_t = 0.95)]
        top_p: f32,
        #[arg(short, long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        flags: engine::RunFlags,
    },
    /// Show the layer plan, parameters per block, and cache sizes at a context length.
    Inspect {
        /// A model folder or its config.json.
        model: PathBuf,
        /// Context length for the memory figures.
        #[arg(short, long, default_value_t = 8192)]
        context: usize,
    },
    /// Time prefill and decode against context length; prints a table (and JSON).
    Bench {
        /// Model folders, or config.json files (random weights).
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// Context lengths (comma separated).
        #[arg(short, long, value_delimiter = ',', default_value = "128,512,2048")]
        contexts: Vec<usize>,
        /// Tokens decoded after each prefill.
        #[arg(short, long, default_value_t = 16)]
        decode: usize,
        /// Write the rows as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Engines to time: cpu, gpu, or both (comma separated).
        #[arg(short, long, value_delimiter = ',', default_value = "cpu")]
        backend: Vec<String>,
        /// GPU prefill chunk (tokens per submission).
        #[arg(long, default_value_t = 1024)]
        chunk: usize,
        /// GPU: also time each kernel with timestamp queries (where the adapter has them).
        #[arg(long)]
        profile: bool,
        /// Prefills timed per point (the best is kept).
        #[arg(long, default_value_t = 2)]
        prefill_runs: usize,
        /// GPU weight matrices: f32, f16, bf16 (comma separated for several).
        #[arg(long, value_delimiter = ',', default_value = "f32")]
        weights: Vec<String>,
        /// CPU engine thread counts to time, each in turn (comma separated); default:
        /// `HYBRID_THREADS`, else the machine's parallelism.
        #[arg(long, value_delimiter = ',')]
        threads: Vec<usize>,
    },
    /// Score multi-query associative recall (the task of the recall zoo).
    Recall {
        model: PathBuf,
        #[arg(long, default_value_t = 16)]
        pairs: usize,
        #[arg(long, default_value_t = 256)]
        len: usize,
        #[arg(long, default_value_t = 32)]
        cases: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        flags: engine::RunFlags,
    },
    /// Per-token loss (and its mean) of a model over a text file.
    Loss {
        model: PathBuf,
        /// The text file.
        text: PathBuf,
        /// Tokens read from the file at most.
        #[arg(short = 'n', long, default_value_t = 1024)]
        max_tokens: usize,
        #[command(flatten)]
        flags: engine::RunFlags,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Writes `text` to standard output, flushed. A closed pipe (`hybrid ... | head`) ends
/// the program quietly, as other command-line tools do; another write error is an error.
fn say(text: impl std::fmt::Display) -> AnyResult<()> {
    let mut out = std::io::stdout().lock();
    match write!(out, "{text}").and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}

/// Largest context `inspect` reports sizes for.
const MAX_INSPECT_CONTEXT: u64 = 1 << 40;

/// Read and parse a `config.json`, naming the file in errors.
/// A Hugging Face `config.json` (naming `architectures`) is mapped onto the engine's.
fn read_config(path: &Path) -> AnyResult<ModelConfig> {
    let bytes = read_file(path, "config", input::MAX_CONFIG_BYTES)?;
    let parsed = if hybrid_core::hf::is_hf_config(&bytes) {
        hybrid_core::hf::config(&bytes)
    } else {
        ModelConfig::from_json(&bytes)
    };
    parsed.map_err(|e| {
        let e = e.to_string();
        let e = e.strip_prefix("config.json: ").unwrap_or(&e);
        format!("{}: {e}", path.display()).into()
    })
}

/// Load a model folder, checking the memory the f32 weights need before reading them.
/// A Hugging Face folder is loaded through `hf::load`.
fn load_model(dir: &Path) -> AnyResult<Model> {
    let cfg_path = dir.join("config.json");
    let cfg_bytes = read_file(&cfg_path, "config", input::MAX_CONFIG_BYTES)?;
    if hybrid_core::hf::is_hf_config(&cfg_bytes) {
        return hf::load(dir, &cfg_bytes);
    }
    let cfg = read_config(&cfg_path)?;
    let w_path = dir.join("model.safetensors");
    let file_len = std::fs::metadata(&w_path)
        .map_err(|e| format!("weights: {}: {e}", w_path.display()))?
        .len();
    check_memory(
        &format!("loading {}", w_path.display()),
        file_len.saturating_add(cfg.param_count_u64().saturating_mul(4)),
    )?;
    let weights = read_file(&w_path, "weights", u64::MAX)?;
    Model::from_bytes(&cfg_bytes, &weights).map_err(|e| format!("{}: {e}", dir.display()).into())
}

/// Load a folder's `tokenizer.json`, naming the file in errors.
fn load_tokenizer(dir: &Path) -> AnyResult<Tokenizer> {
    let path = dir.join("tokenizer.json");
    let bytes = read_file(&path, "tokenizer", input::MAX_TOKENIZER_BYTES)?;
    Tokenizer::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Refuse a zero where a count of at least one is needed.
fn at_least_one(flag: &str, v: usize) -> AnyResult<()> {
    if v == 0 {
        return Err(format!("{flag} must be at least 1").into());
    }
    Ok(())
}

fn run(cli: Cli) -> AnyResult<()> {
    match cli.cmd {
        Cmd::Generate {
            model,
            prompt,
            prompt_file,
            max_tokens,
            temperature,
            top_k,
            top_p,
            seed,
            flags,
        } => {
            let params = SamplingParams {
                temperature,
                top_k,
                top_p,
                seed,
            };
            params.validate()?;
            let prompt = input::prompt(prompt, prompt_file.as_deref())?;
            let m = load_model(&model)?;
            let iv = intervene::parse_flags(&flags.intervene, &m)?;
            let tok = load_tokenizer(&model)?;
            (tok.check_fits(m.config().vocab_size))
                .map_err(|e| format!("{}: {e}", model.join("tokenizer.json").display()))?;
            let mut ids = tok.encode(&prompt)?;
            if ids.is_empty() {
                ids.push(0);
            }
            let total = ids.len().saturating_add(max_tokens);
            check_memory(
                &format!("{} prompt tokens + {max_tokens} generated", ids.len()),
                cpu_run_bytes(m.config(), total, ids.len(), false),
            )?;
            let mut eng = engine::Engine::new(&flags.backend, &m, &iv, total, ids.len())?;
            generate::generate(&mut eng, &tok, &ids, max_tokens, params)
        }
        Cmd::Inspect { model, context } => {
            if context as u64 > MAX_INSPECT_CONTEXT {
                return Err(format!(
                    "--context {context} is over {MAX_INSPECT_CONTEXT} tokens (2^40): the sizes would not mean anything"
                )
                .into());
            }
            let (path, dir) = if model.is_dir() {
                (model.join("config.json"), Some(model.clone()))
            } else {
                (model, None)
            };
            let cfg = read_config(&path)?;
            say(inspect::report(&cfg, context))?;
            say(inspect::gpu_estimate(&cfg, context))?;
            // A folder's weights are checked tensor by tensor against the config.
            match dir {
                Some(dir)
                    if dir.join("model.safetensors").exists()
                        || dir.join(hybrid_core::hf::INDEX_FILE).exists() =>
                {
                    load_model(&dir)?;
                    say("model.safetensors: every tensor present with the expected shape, all values finite\n")?;
                }
                Some(dir) => say(format!(
                    "model.safetensors: not in {}: the weights were not checked\n",
                    dir.display()
                ))?,
                None => {}
            }
            Ok(())
        }
        Cmd::Bench {
            models,
            contexts,
            decode,
            json,
            backend,
            chunk,
            profile,
            prefill_runs,
            weights,
            threads,
        } => {
            at_least_one("--decode", decode)?;
            if threads.contains(&0) {
                return Err("--threads: every thread count must be at least 1".into());
            }
            // 0: the engine's own default
            let threads = if threads.is_empty() { vec![0] } else { threads };
            at_least_one("--chunk", chunk)?;
            at_least_one("--prefill-runs", prefill_runs)?;
            if contexts.contains(&0) {
                return Err("--contexts: every context length must be at least 1".into());
            }
            if let Some(b) = backend
                .iter()
                .find(|b| !["cpu", "gpu"].contains(&b.as_str()))
            {
                return Err(format!("--backend: `{b}`? (cpu, gpu, or cpu,gpu)").into());
            }
            // fail on a bad --json path now, not after the whole run
            if let Some(p) = &json {
                std::fs::File::create(p).map_err(|e| format!("--json {}: {e}", p.display()))?;
            }
            let mut formats = Vec::new();
            for w in &weights {
                formats.push(
                    hybrid_gpu::WeightFormat::parse(w)
                        .ok_or_else(|| format!("--weights: {w}? (f32, f16 or bf16)"))?,
                );
            }
            let gpu = if backend.iter().any(|b| b == "gpu") {
                let g = std::sync::Arc::new(hybrid_gpu::Gpu::new_blocking()?);
                eprintln!("GPU: {} [{}]", g.adapter_string(), g.caps.summary());
                Some(g)
            } else {
                None
            };
            let mut rows = Vec::new();
            for path in &models {
                if let Some(g) = &gpu {
                    // refuse before loading: a buffer over the device's limits
                    let cfg = read_config(&if path.is_dir() {
                        path.join("config.json")
                    } else {
                        path.clone()
                    })?;
                    let points = bench::GpuPoints {
                        contexts: &contexts,
                        decode,
                        chunk,
                    };
                    points
                        .check(&cfg, &formats, &g.limits)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                let m = bench::load_any(path)?;
                if backend.iter().any(|b| b == "cpu") {
                    for &c in &contexts {
                        check_memory(
                            &format!("{} at {c} tokens (CPU)", path.display()),
                            cpu_run_bytes(m.config(), c.saturating_add(decode), c, false),
                        )?;
                    }
                }
                let mut gms = Vec::new();
                if let Some(g) = &gpu {
                    for &f in &formats {
                        gms.push(hybrid_gpu::GpuModel::with_format(g.clone(), &m, f)?);
                    }
                }
                for &c in &contexts {
                    let mut measured = Vec::new();
                    if backend.iter().any(|b| b == "cpu") {
                        for &n in &threads {
                            if n > 0 {
                                hybrid_core::cpu::par::set_threads(n);
                            }
                            measured.push(bench::measure_cpu(&m, c, decode, prefill_runs)?);
                        }
                    }
                    for gm in &gms {
                        measured.push(bench::measure_gpu(
                            gm,
                            &m,
                            c,
                            decode,
                            chunk,
                            profile,
                            prefill_runs,
                        )?);
                    }
                    for row in measured {
                        eprintln!(
                            "{} [{}] @ {c}: prefill {:.1} ms, decode {:.3} ms",
                            row.model, row.backend, row.prefill_ms, row.decode_ms_per_token
                        );
                        rows.push(row);
                    }
                }
            }
            say(bench::table(&rows))?;
            say(bench::profile_tables(&rows))?;
            if let Some(p) = json {
                std::fs::write(&p, serde_json::to_string_pretty(&rows)?)
                    .map_err(|e| format!("--json {}: {e}", p.display()))?;
            }
            Ok(())
        }
        Cmd::Recall {
            model,
            pairs,
            len,
            cases,
            seed,
            flags,
        } => {
            at_least_one("--cases", cases)?;
            let m = load_model(&model)?;
            let iv = intervene::parse_flags(&flags.intervene, &m)?;
            // the cases' tokens, and one case's forward with logits at every position
            let tokens = (cases as u64).saturating_mul(len as u64).saturating_mul(4);
            check_memory(
                &format!("{cases} recall cases of {len} tokens"),
                tokens.saturating_add(cpu_run_bytes(m.config(), len, len, true)),
            )?;
            let batch = recall::make_batch(seed, cases, pairs, len)?;
            let mut eng = engine::Engine::new(&flags.backend, &m, &iv, len, len)?;
            let mut total = 0.0;
            for case in &batch {
                eng.reset()?;
                let logits = eng.forward(&case.tokens, true)?;
                total += recall::accuracy(case, &logits, m.config().vocab_size);
            }
            say(format!(
                "recall accuracy: {:.1}% ({cases} cases, {pairs} pairs, length {len}, seed {seed})\n",
                100.0 * total / batch.len().max(1) as f32
            ))?;
            Ok(())
        }
        Cmd::Loss {
            model,
            text,
            max_tokens,
            flags,
        } => {
            let m = load_model(&model)?;
            let iv = intervene::parse_flags(&flags.intervene, &m)?;
            let tok = load_tokenizer(&model)?;
            (tok.check_fits(m.config().vocab_size))
                .map_err(|e| format!("{}: {e}", model.join("tokenizer.json").display()))?;
            say(intervene::loss_report(
                &m,
                &tok,
                &text,
                max_tokens,
                (&flags.backend, &iv),
            )?)
        }
    }
}
