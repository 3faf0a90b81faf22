//! Property tests of everything a user can hand the engine (issue #14, part 3): the
//! safetensors reader, the config parser and the tokenizer load, on mutated copies of
//! the committed files and on arbitrary bytes. The properties are the bodies in
//! `hybrid_core::fuzz` (the `cargo fuzz` targets in `fuzz/` run the same ones): never a
//! panic, always `Ok` or a typed `Error`, and what is accepted can be used.
//!
//! CI runs a bounded number of cases (256 per property, a few seconds each);
//! `PROPTEST_CASES=100000 cargo test -p hybrid-core --release --test properties` runs
//! longer (docs/RELIABILITY.md, "Fuzzing"). One file per input: `checkpoint.rs` (safetensors),
//! `config.rs`, `tokenizer.rs`; the harness and the shared generators are here. A failing case is written to
//! `core/tests/properties/main.proptest-regressions` and replayed first on every later run:
//! commit it with the fix.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::OnceLock;

use hybrid_core::fuzz;
use hybrid_core::testing::fixtures_dir;
use hybrid_core::Model;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use serde_json::{json, Value};

/// Cases per property: 256, or `PROPTEST_CASES`.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Runs `body` on `cases()` values of `strategy` (and first on every case saved in
/// `core/tests/properties/main.proptest-regressions`); returns how many times `body` said
/// "accepted", so that a test can check its generator reaches the code under test.
fn run<S: Strategy>(strategy: S, body: impl Fn(S::Value) -> bool) -> (u32, u32)
where
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: cases(),
        // saved failing cases, replayed first on every run (an explicit path: proptest's
        // source-parallel naming does not find it for a `tests/<name>/main.rs` target)
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/properties/main.proptest-regressions"
        )))),
        ..Config::default()
    };
    let (runs, accepted) = (Cell::new(0u32), Cell::new(0u32));
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |v| {
        runs.set(runs.get() + 1);
        if body(v) {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // runs = the saved regression cases + `cases()` new ones
    let (n, accepted) = (runs.get(), accepted.get());
    println!(
        "{n} cases, {accepted} accepted, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (n, accepted)
}

/// A committed fixture: name, config.json, model.safetensors.
type Fixture = (String, Vec<u8>, Vec<u8>);

/// The committed fixtures.
fn fixtures() -> &'static [Fixture] {
    static F: OnceLock<Vec<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let names = hybrid_core::testing::fixture_names();
        assert!(names.len() >= 8, "fixtures missing: {names:?}");
        names
            .into_iter()
            .map(|n| {
                let d = fixtures_dir().join(&n);
                let read = |f: &str| std::fs::read(d.join(f)).expect("fixture file");
                let (c, w) = (read("config.json"), read("model.safetensors"));
                (n, c, w)
            })
            .collect()
    })
}

/// The distinct `tokenizer.json` files of the bundled models.
fn tokenizers() -> &'static [Vec<u8>] {
    static T: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    T.get_or_init(|| {
        let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets/models");
        let mut all: Vec<Vec<u8>> = std::fs::read_dir(&models)
            .expect("assets/models")
            .filter_map(|e| std::fs::read(e.ok()?.path().join("tokenizer.json")).ok())
            .collect();
        all.sort();
        all.dedup();
        assert!(all.len() >= 2, "bundled tokenizers missing");
        all
    })
}

// ---------------------------------------------------------------------------------------
// Values: numbers at the edges, JSON of every kind.

/// A JSON number or not-a-number, weighted towards small sizes (so that configs built
/// from them are often valid) with every edge: 0, powers of two, huge, negative, floats,
/// null, strings, booleans.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (1u64..=8).prop_map(Value::from),
        2 => Just(json!(0)),
        2 => select(vec![16u64, 32, 64, 100, 4096, 4097, 1 << 16, 1 << 21, 1 << 31, 1 << 32,
                         1 << 40, 1 << 53, 1 << 63, u64::MAX]).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => (-8i64..0).prop_map(Value::from),
        1 => select(vec![0.5f64, 1e-5, 1e-45, 1e300, -0.0, 2.0, 4.0, -1.5, 1e10])
            .prop_map(|f| json!(f)),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => Just(Value::Null),
        1 => "[a-z0-9 ]{0,6}".prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
    ]
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A key present with probability 0.85, else absent.
fn maybe(s: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.85, s)
}

fn object(entries: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        entries
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Mutations of a file's bytes and of a JSON document.

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum ByteEdit {
    /// XOR a byte (never 0: a flip changes the file).
    Flip(Index, u8),
    /// XOR a byte of the first 8 + 512 bytes (the length and the start of a header).
    FlipHead(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        3 => (any::<Index>(), 1u8..).prop_map(|(i, x)| ByteEdit::Flip(i, x)),
        3 => (any::<Index>(), 1u8..).prop_map(|(i, x)| ByteEdit::FlipHead(i, x)),
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| ByteEdit::Remove(i, n)),
    ]
}

fn apply_bytes(b: &mut Vec<u8>, e: &ByteEdit) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match e {
        ByteEdit::Flip(i, x) if !b.is_empty() => {
            let k = at(i, b.len());
            b[k] ^= x;
        }
        ByteEdit::FlipHead(i, x) if !b.is_empty() => {
            let k = at(i, b.len().min(8 + 512));
            b[k] ^= x;
        }
        ByteEdit::Truncate(i) => b.truncate(at(i, b.len() + 1)),
        ByteEdit::Insert(i, bytes) => {
            let k = at(i, b.len() + 1);
            b.splice(k..k, bytes.iter().copied());
        }
        ByteEdit::Remove(i, n) => {
            let k = at(i, b.len() + 1);
            b.drain(k..(k + n).min(b.len()));
        }
        _ => {}
    }
}

/// One edit of a JSON document: a node (picked among all nodes, the root included) is
/// replaced by another value or removed from its parent.
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(Index, Value),
    Remove(Index),
    /// Add a key (a new name, or one of the document's known keys) to an object node.
    AddKey(Index, String, Value),
}

fn json_edit(keys: &'static [&'static str]) -> impl Strategy<Value = JsonEdit> {
    let key = prop_oneof![select(keys).prop_map(str::to_string), "[a-z_.]{1,10}"];
    prop_oneof![
        4 => (any::<Index>(), json_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        2 => any::<Index>().prop_map(JsonEdit::Remove),
        1 => (any::<Index>(), key, json_value()).prop_map(|(i, k, v)| JsonEdit::AddKey(i, k, v)),
    ]
}

/// Paths of every node of `v` (object keys and array indices), depth first.
fn paths(v: &Value, here: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                here.push(Value::from(k.as_str()));
                paths(c, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                here.push(Value::from(i));
                paths(c, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match k {
        Value::String(s) => v.get_mut(s.as_str()),
        k => v.get_mut(k.as_u64()? as usize),
    })
}

fn apply_json(doc: &mut Value, e: &JsonEdit) {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let (JsonEdit::Replace(i, _) | JsonEdit::Remove(i) | JsonEdit::AddKey(i, ..)) = e;
    let path = all[i.index(all.len())].clone();
    match e {
        JsonEdit::Replace(_, v) => {
            if let Some(n) = node(doc, &path) {
                *n = v.clone();
            }
        }
        JsonEdit::Remove(_) => {
            let Some((last, parent)) = path.split_last() else {
                return;
            };
            match (node(doc, parent), last) {
                (Some(Value::Object(m)), Value::String(k)) => {
                    m.remove(k);
                }
                (Some(Value::Array(a)), Value::Number(k)) => {
                    a.remove(k.as_u64().unwrap_or(0) as usize);
                }
                _ => {}
            }
        }
        JsonEdit::AddKey(_, k, v) => {
            if let Some(Value::Object(m)) = node(doc, &path) {
                m.insert(k.clone(), v.clone());
            }
        }
    }
}

mod checkpoint;
mod config;
mod hf;
mod tokenizer;
