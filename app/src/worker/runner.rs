//! One generation request, as the worker runs it: every model's prompt is read in
//! chunks (with progress), then the models decode side by side, one token each per turn.
//! New tokens and the text they complete are reported every [`REPORT_MS`]; between
//! pieces of work the runner pauses so that the worker can receive "Stop".
//!
//! Independent of the browser (the [`Host`] gives the clock, the pause and the mailbox),
//! so it is tested natively.

use std::future::Future;
use std::rc::Rc;

use super::protocol::{Progress, Reply};
use crate::engine::{Backend, TextStream};
use crate::generation::Generation;
use crate::sampling::Sampling;

/// Work between two pauses, in milliseconds (the latency of "Stop").
pub const PAUSE_MS: f64 = 20.0;
/// Time between two token reports to the page, in milliseconds.
pub const REPORT_MS: f64 = 50.0;

/// What the runner needs from where it runs.
pub trait Host {
    /// Sends a reply to the page.
    fn post(&self, reply: Reply);
    /// Whether the page asked to stop run `run`.
    fn stopped(&self, run: u64) -> bool;
    fn now_ms(&self) -> f64;
    /// Bytes of wasm memory in use (0 where unknown).
    fn memory_bytes(&self) -> usize;
    /// Lets the worker receive messages.
    fn pause(&self) -> impl Future<Output = ()>;
}

/// One slot's run: its generation, the text not yet reported, its counters.
struct SlotRun<'t> {
    slot: usize,
    generation: Generation,
    stream: TextStream<'t>,
    new_ids: Vec<u32>,
    new_text: String,
    /// Bytes of text streamed so far.
    sent_len: usize,
    progress: Progress,
}

/// Runs `prompt` through every `(slot, model)` and reports to `host`; ends with
/// [`Reply::RunOver`].
pub async fn run(
    host: &impl Host,
    run: u64,
    models: Vec<(usize, Rc<Backend>)>,
    prompt: &str,
    sampling: Sampling,
) {
    let mut runs: Vec<SlotRun> = Vec::new();
    for (slot, backend) in &models {
        let finish = |outcome| Reply::Finished {
            run,
            slot: *slot,
            outcome,
            update: Progress::default(),
        };
        let Some(stream) = backend.tokenizer().map(|t| t.stream()) else {
            host.post(finish(Err("this model has no tokenizer".into())));
            continue;
        };
        match prefill(host, run, *slot, backend.clone(), prompt, sampling).await {
            Ok(Some(generation)) => runs.push(SlotRun {
                slot: *slot,
                generation,
                stream,
                new_ids: Vec::new(),
                new_text: String::new(),
                sent_len: 0,
                progress: Progress::default(),
            }),
            Ok(None) => host.post(finish(Ok("stopped".into()))),
            Err(e) => host.post(finish(Err(e))),
        }
    }
    decode(host, run, runs).await;
    host.post(Reply::RunOver { run });
}

/// Reads the prompt in chunks, reporting progress; `None` if stopped.
async fn prefill(
    host: &impl Host,
    run: u64,
    slot: usize,
    backend: Rc<Backend>,
    prompt: &str,
    sampling: Sampling,
) -> Result<Option<Generation>, String> {
    let t0 = host.now_ms();
    let mut g = Generation::new(backend, prompt, sampling)?;
    loop {
        let done = g.prefill_step().await?;
        host.post(Reply::Prefill {
            run,
            slot,
            done: g.prefilled(),
            total: g.prompt_len(),
            training_len: g.training_len(),
            ms: host.now_ms() - t0,
        });
        host.pause().await;
        if host.stopped(run) {
            return Ok(None);
        }
        if done {
            return Ok(Some(g));
        }
    }
}

/// Decodes every run round-robin until each is done, stopped or failed.
async fn decode(host: &impl Host, run: u64, mut runs: Vec<SlotRun<'_>>) {
    let mut paused_at = host.now_ms();
    let mut reported_at = paused_at;
    while !runs.is_empty() {
        let stopping = host.stopped(run);
        let mut finished: Vec<(usize, Result<String, String>)> = Vec::new();
        for (k, r) in runs.iter_mut().enumerate() {
            if stopping {
                finished.push((k, Ok("stopped".into())));
                continue;
            }
            let t0 = host.now_ms();
            let step = r.step().await;
            r.progress.decode_ms += host.now_ms() - t0;
            match step {
                Ok(false) => {}
                Ok(true) => finished.push((k, Ok("done".into()))),
                Err(e) => finished.push((k, Err(e))),
            }
        }
        let now = host.now_ms();
        if now - reported_at >= REPORT_MS {
            for r in runs.iter_mut() {
                host.post(r.report(run, host.memory_bytes()));
            }
            reported_at = now;
        }
        for (k, outcome) in finished.into_iter().rev() {
            let mut r = runs.remove(k);
            r.flush();
            host.post(r.report(run, host.memory_bytes()));
            host.post(Reply::Finished {
                run,
                slot: r.slot,
                outcome,
                update: r.progress,
            });
        }
        if host.now_ms() - paused_at >= PAUSE_MS {
            host.pause().await;
            paused_at = host.now_ms();
        }
    }
}

impl SlotRun<'_> {
    /// One token: sampled, run through the model, its text streamed. Returns whether the
    /// run is finished.
    async fn step(&mut self) -> Result<bool, String> {
        let Some(token) = self.generation.next_token().await? else {
            return Ok(true);
        };
        self.new_ids.push(token);
        self.new_text
            .push_str(&self.stream.push(token).map_err(|e| e.to_string())?);
        Ok(self.generation.is_finished())
    }

    /// Adds the text the stream still holds back (a character split across tokens that
    /// never completed): the whole output's decoding past what was streamed.
    fn flush(&mut self) {
        let streamed = self.sent_len + self.new_text.len();
        if let Ok(all) = self.generation.text() {
            if let Some(rest) = all.get(streamed..) {
                self.new_text.push_str(rest);
            }
        }
    }

    /// The tokens and text since the last report, with the counters now.
    fn report(&mut self, run: u64, wasm_bytes: usize) -> Reply {
        let bytes = self.generation.state_bytes();
        self.progress.generated = self.generation.generated().len();
        self.progress.kv_bytes = bytes.kv_cache;
        self.progress.ssm_bytes = bytes.ssm_state + bytes.conv_state;
        self.progress.wasm_bytes = wasm_bytes;
        self.sent_len += self.new_text.len();
        Reply::Tokens {
            run,
            slot: self.slot,
            ids: std::mem::take(&mut self.new_ids),
            text: std::mem::take(&mut self.new_text),
            update: self.progress,
        }
    }
}
