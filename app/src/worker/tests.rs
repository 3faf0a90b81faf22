//! The runner, natively: replies in order, text deltas that add up to the decoded ids,
//! progress per prefill chunk, and "Stop" honoured.

use std::cell::{Cell, RefCell};

use super::protocol::{Reply, Request};
use super::runner::{run, Host};
use crate::generation::tests::{now, test_model};
use crate::generation::PREFILL_CHUNK;
use crate::sampling::SamplingForm;

/// Records the replies; stops after `stop_after` pauses.
struct TestHost {
    replies: RefCell<Vec<Reply>>,
    pauses: Cell<usize>,
    stop_after: usize,
    clock: Cell<f64>,
}

impl Host for TestHost {
    fn post(&self, reply: Reply) {
        // Every reply survives its JSON round trip.
        let back = Reply::from_json(&reply.to_json()).unwrap();
        assert_eq!(back, reply);
        self.replies.borrow_mut().push(reply);
    }
    fn stopped(&self, _run: u64) -> bool {
        self.pauses.get() >= self.stop_after
    }
    fn now_ms(&self) -> f64 {
        // 10 ms per call: reports and pauses happen, deterministically.
        self.clock.set(self.clock.get() + 10.0);
        self.clock.get()
    }
    fn memory_bytes(&self) -> usize {
        0
    }
    async fn pause(&self) {
        self.pauses.set(self.pauses.get() + 1);
    }
}

fn host(stop_after: usize) -> TestHost {
    TestHost {
        replies: RefCell::new(Vec::new()),
        pauses: Cell::new(0),
        stop_after,
        clock: Cell::new(0.0),
    }
}

fn sampling(n: &str) -> crate::sampling::Sampling {
    SamplingForm {
        max_new_tokens: n.into(),
        temperature: "0".into(),
        ..SamplingForm::default()
    }
    .parse()
    .unwrap()
}

#[test]
fn a_run_streams_progress_tokens_and_text_that_match_the_ids() {
    let model = test_model();
    let prompt = "x".repeat(PREFILL_CHUNK * 2 + 5);
    let h = host(usize::MAX);
    now(run(
        &h,
        7,
        vec![(0, model.clone()), (2, model.clone())],
        &prompt,
        sampling("40"),
    ));
    let replies = h.replies.take();
    let prefill: Vec<(usize, usize)> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::Prefill {
                slot: 0,
                done,
                total,
                ..
            } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    let total = prompt.len();
    assert_eq!(
        prefill,
        vec![
            (PREFILL_CHUNK, total),
            (2 * PREFILL_CHUNK, total),
            (total, total)
        ]
    );
    for slot in [0, 2] {
        let (mut ids, mut text) = (Vec::new(), String::new());
        for r in &replies {
            if let Reply::Tokens {
                slot: s,
                ids: i,
                text: t,
                ..
            } = r
            {
                if *s == slot {
                    ids.extend(i);
                    text.push_str(t);
                }
            }
        }
        assert_eq!(ids.len(), 40, "slot {slot}");
        let decoded = model.tokenizer().unwrap().decode(&ids).unwrap();
        assert_eq!(text, decoded, "slot {slot}: streamed text");
        assert!(replies.iter().any(|r| matches!(r,
            Reply::Finished { slot: s, outcome: Ok(o), update, .. }
                if *s == slot && o == "done" && update.generated == 40)));
    }
    assert_eq!(replies.last(), Some(&Reply::RunOver { run: 7 }));
    // The same tokens as a run on the page's side (chunked prefill included).
    let mut g = now(crate::generation::Generation::start(
        model,
        &prompt,
        sampling("40"),
    ))
    .unwrap();
    while now(g.next_token()).unwrap().is_some() {}
    let streamed: Vec<u32> = replies
        .iter()
        .filter_map(|r| match r {
            Reply::Tokens { slot: 0, ids, .. } => Some(ids.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(streamed, g.generated());
}

#[test]
fn stop_ends_a_long_prefill_early() {
    let prompt = "y".repeat(PREFILL_CHUNK * 10);
    let h = host(2);
    now(run(&h, 1, vec![(0, test_model())], &prompt, sampling("10")));
    let replies = h.replies.take();
    let chunks = replies
        .iter()
        .filter(|r| matches!(r, Reply::Prefill { .. }))
        .count();
    assert_eq!(chunks, 2, "stopped after the second chunk");
    assert!(replies.iter().any(|r| matches!(r,
        Reply::Finished { outcome: Ok(o), .. } if o == "stopped")));
    assert!(!replies.iter().any(|r| matches!(r, Reply::Tokens { .. })));
}

#[test]
fn requests_survive_json() {
    let r = Request::Generate {
        run: 3,
        prompt: "a \"quoted\" \u{1F600} prompt".into(),
        params: sampling("5").params,
        max_new_tokens: 5,
        slots: vec![(0, 1), (3, 9)],
    };
    assert_eq!(Request::from_json(&r.to_json()).unwrap(), r);
    assert!(Request::from_json("{\"Nope\":1}").is_err());
}
