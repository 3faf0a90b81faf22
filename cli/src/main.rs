//! `hybrid`: generate text, inspect a checkpoint, and score recall, on the CPU engine.

mod bench;
mod inspect;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};
use hybrid_core::tasks::recall;
use hybrid_core::{ForwardOptions, Model, ModelConfig, Sampler, SamplingParams, Tokenizer};

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
        #[arg(short, long, default_value = "")]
        prompt: String,
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
        /// GPU weight matrices: f32, f16, or both (comma separated).
        #[arg(long, value_delimiter = ',', default_value = "f32")]
        weights: Vec<String>,
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
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn read(path: &Path) -> AnyResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn load_model(dir: &Path) -> AnyResult<Model> {
    let cfg = read(&dir.join("config.json"))?;
    let weights = read(&dir.join("model.safetensors"))?;
    Ok(Model::from_bytes(&cfg, &weights)?)
}

fn run(cli: Cli) -> AnyResult<()> {
    match cli.cmd {
        Cmd::Generate {
            model,
            prompt,
            max_tokens,
            temperature,
            top_k,
            top_p,
            seed,
        } => {
            let m = load_model(&model)?;
            let tok = Tokenizer::from_bytes(&read(&model.join("tokenizer.json"))?)?;
            let mut ids = tok.encode(&prompt)?;
            if ids.is_empty() {
                ids.push(0);
            }
            let params = SamplingParams {
                temperature,
                top_k,
                top_p,
                seed,
            };
            generate(&m, &tok, &ids, max_tokens, params)
        }
        Cmd::Inspect { model, context } => {
            let (path, dir) = if model.is_dir() {
                (model.join("config.json"), Some(model.clone()))
            } else {
                (model, None)
            };
            let cfg = ModelConfig::from_json(&read(&path)?)?;
            print!("{}", inspect::report(&cfg, context));
            // A folder's weights are checked tensor by tensor against the config.
            if let Some(dir) = dir.filter(|d| d.join("model.safetensors").exists()) {
                load_model(&dir)?;
                println!("model.safetensors: every tensor present with the expected shape");
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
        } => {
            let mut formats = Vec::new();
            for w in &weights {
                formats.push(match w.as_str() {
                    "f32" => hybrid_gpu::WeightFormat::F32,
                    "f16" => hybrid_gpu::WeightFormat::F16,
                    other => return Err(format!("--weights: {other}? (f32 or f16)").into()),
                });
            }
            let gpu = if backend.iter().any(|b| b == "gpu") {
                let g = std::sync::Arc::new(hybrid_gpu::Gpu::new_blocking()?);
                eprintln!("GPU: {}", g.adapter_string());
                Some(g)
            } else {
                None
            };
            let mut rows = Vec::new();
            for path in &models {
                let m = bench::load_any(path)?;
                let mut gms = Vec::new();
                if let Some(g) = &gpu {
                    for &f in &formats {
                        gms.push(hybrid_gpu::GpuModel::with_format(g.clone(), &m, f)?);
                    }
                }
                for &c in &contexts {
                    let mut measured = Vec::new();
                    if backend.iter().any(|b| b == "cpu") {
                        measured.push(bench::measure_cpu(&m, c, decode)?);
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
            print!("{}", bench::table(&rows));
            print!("{}", bench::profile_tables(&rows));
            if let Some(p) = json {
                std::fs::write(&p, serde_json::to_string_pretty(&rows)?)?;
            }
            Ok(())
        }
        Cmd::Recall {
            model,
            pairs,
            len,
            cases,
            seed,
        } => {
            let m = load_model(&model)?;
            let batch = recall::make_batch(seed, cases, pairs, len)?;
            let mut total = 0.0;
            for case in &batch {
                let mut st = m.new_state();
                let opts = ForwardOptions {
                    all_logits: true,
                    ..Default::default()
                };
                let out = m.forward(&mut st, &case.tokens, opts)?;
                total += recall::accuracy(case, &out.logits, m.config().vocab_size);
            }
            println!(
                "recall accuracy: {:.1}% ({cases} cases, {pairs} pairs, length {len}, seed {seed})",
                100.0 * total / batch.len().max(1) as f32
            );
            Ok(())
        }
    }
}

/// Prefill the prompt, then sample and stream `max_tokens` tokens.
fn generate(
    m: &Model,
    tok: &Tokenizer,
    ids: &[u32],
    max_tokens: usize,
    params: SamplingParams,
) -> AnyResult<()> {
    let mut sampler = Sampler::new(params);
    let mut state = m.new_state();
    let t0 = Instant::now();
    let mut logits = m.prefill(&mut state, ids)?;
    let prefill = t0.elapsed();
    let mut out: Vec<u32> = Vec::new();
    let mut shown = 0;
    let mut stdout = std::io::stdout();
    print!("{}", tok.decode(ids)?);
    let t1 = Instant::now();
    for _ in 0..max_tokens {
        let next = sampler.sample(&logits);
        out.push(next);
        // print the text that became complete (byte-level tokens may split characters)
        let text = tok.decode(&out)?;
        if !text.ends_with('\u{FFFD}') {
            print!("{}", &text[shown.min(text.len())..]);
            shown = text.len();
            stdout.flush()?;
        }
        logits = m.step(&mut state, next)?;
    }
    let decode = t1.elapsed();
    println!();
    eprintln!(
        "prefill {} tokens in {:.1} ms; decode {} tokens at {:.1} tokens/s; cache {} bytes",
        ids.len(),
        prefill.as_secs_f64() * 1e3,
        out.len(),
        out.len() as f64 / decode.as_secs_f64().max(1e-9),
        state.bytes().total()
    );
    Ok(())
}
