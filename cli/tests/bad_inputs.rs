//! The command line against careless and hostile input: every case exits with a clear
//! message (exit 1, never a panic's 101 or an abort's 134), or succeeds where the input is
//! odd but valid. `HYBRID_BLESS=1 cargo test -p hybrid-cli --test bad_inputs` rewrites
//! the table of every case and its message at the top of docs/RELIABILITY.md (the part
//! above `<!-- end of generated table -->`; the rest of the file is kept); without it the
//! test checks that the table lists every case.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A scratch folder for this test run.
fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("hybrid-bad-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// A copy of a zoo model folder, with `edit` applied to its files.
fn model_copy(dir: &Path, name: &str, edit: impl Fn(&Path)) -> PathBuf {
    let src = root().join("assets/models/shakespeare-mamba2");
    let dst = dir.join(name);
    std::fs::create_dir_all(&dst).expect("model dir");
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(src.join(f), dst.join(f)).expect("copy");
    }
    edit(&dst);
    dst
}

fn edit_config(dir: &Path, f: impl Fn(&mut serde_json::Value)) {
    let p = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("json");
    f(&mut v);
    std::fs::write(&p, v.to_string()).expect("write");
}

fn edit_weights(dir: &Path, f: impl Fn(&mut Vec<u8>)) {
    let p = dir.join("model.safetensors");
    let mut b = std::fs::read(&p).expect("read");
    f(&mut b);
    std::fs::write(&p, b).expect("write");
}

/// One case: what is tried, the arguments, the expected exit code and a part of the
/// expected message (stderr for failures, stdout for successes).
struct Case {
    what: &'static str,
    args: Vec<String>,
    stdin: Option<&'static str>,
    code: i32,
    expect: &'static str,
}

fn case(what: &'static str, args: &[&str], code: i32, expect: &'static str) -> Case {
    Case {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        code,
        expect,
    }
}

fn cases(dir: &Path) -> Vec<Case> {
    let p = |p: &Path| p.display().to_string();
    let ok = p(&model_copy(dir, "ok", |_| {}));
    let fifo = dir.join("fifo");
    let made_fifo = Command::new("mkfifo").arg(&fifo).status();
    assert!(made_fifo.is_ok_and(|s| s.success()), "mkfifo failed");
    let fifo_model = model_copy(dir, "fifo-config", |d| {
        std::fs::remove_file(d.join("config.json")).expect("rm");
        std::os::unix::fs::symlink(&fifo, d.join("config.json")).expect("symlink");
    });
    let heads = model_copy(dir, "heads", |d| {
        edit_config(d, |v| {
            v["attention"] =
                serde_json::json!({"n_heads": 1u64 << 33, "n_kv_heads": 1, "head_dim": 1u64 << 31});
            v["layers"][0] = "attention".into();
        })
    });
    let expand = dir.join("expand.json");
    let mut cfg: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("assets/models/shakespeare-mamba2/config.json")).expect("cfg"),
    )
    .expect("json");
    cfg["mamba"]["expand"] = (1u64 << 57).into();
    std::fs::write(&expand, cfg.to_string()).expect("write");
    let layers = dir.join("layers.json");
    cfg["mamba"]["expand"] = 2.into();
    cfg["layers"] = serde_json::Value::Array(vec!["mamba".into(); 100_000]);
    std::fs::write(&layers, cfg.to_string()).expect("write");
    let typo = model_copy(dir, "typo", |d| {
        edit_config(d, |v| {
            let m = v["mamba"].as_object_mut().expect("mamba");
            let w = m.remove("conv_width").unwrap_or(4.into());
            m.insert("conv_widht".into(), w);
        })
    });
    let nan = model_copy(dir, "nan", |d| {
        edit_weights(d, |b| {
            // the last 2 bytes of the file are the last f16 of the last tensor: NaN
            let n = b.len();
            b[n - 2..].copy_from_slice(&half_nan());
        })
    });
    let truncated = model_copy(dir, "truncated", |d| {
        edit_weights(d, |b| b.truncate(b.len() - 1000))
    });
    let tiny = model_copy(dir, "tiny", |d| edit_weights(d, |b| b.truncate(3)));
    let huge_header = model_copy(dir, "huge-header", |d| {
        edit_weights(d, |b| b[..8].copy_from_slice(&u64::MAX.to_le_bytes()))
    });
    let no_weights = model_copy(dir, "no-weights", |d| {
        std::fs::remove_file(d.join("model.safetensors")).expect("rm")
    });
    let other_weights = model_copy(dir, "other-weights", |d| {
        std::fs::copy(
            root().join("assets/models/shakespeare-transformer/model.safetensors"),
            d.join("model.safetensors"),
        )
        .expect("copy");
    });
    let bad_tok = model_copy(dir, "bad-tokenizer", |d| {
        std::fs::write(d.join("tokenizer.json"), "{\"model\": 3}").expect("write")
    });
    let no_tok = model_copy(dir, "no-tokenizer", |d| {
        std::fs::remove_file(d.join("tokenizer.json")).expect("rm")
    });
    let empty_cfg = model_copy(dir, "empty-config", |d| {
        std::fs::write(d.join("config.json"), "").expect("write")
    });
    let array_cfg = model_copy(dir, "array-config", |d| {
        std::fs::write(d.join("config.json"), "[1, 2]").expect("write")
    });
    let latin1 = dir.join("latin1.txt");
    std::fs::write(&latin1, [b'c', 0xe7, b'a']).expect("write");
    let odd = dir.join("odd.txt");
    std::fs::write(&odd, "O Romeo\u{0}\u{7}\t\r\n\u{202e} Zalgo z̷̢̛a̶l̵g̸o 🎭 日本").expect("write");
    let cfg_path = format!("{ok}/config.json");
    let gen = |extra: &[&str]| {
        let mut a = vec!["generate", ok.as_str(), "-n", "4"];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let s = |x: &str| x.to_string();
    vec![
        case(
            "model folder that does not exist",
            &["generate", "/nonexistent/model"],
            1,
            "/nonexistent/model/config.json",
        ),
        case(
            "config.json is a FIFO",
            &["generate", &p(&fifo_model)],
            1,
            "not a regular file",
        ),
        case(
            "prompt file is /dev/zero",
            &["generate", &ok, "--prompt-file", "/dev/zero"],
            1,
            "not a regular file",
        ),
        case(
            "prompt file is a folder",
            &["generate", &ok, "--prompt-file", "/tmp"],
            1,
            "not a regular file",
        ),
        case(
            "n_heads = 2^33, head_dim = 2^31",
            &["inspect", &p(&heads)],
            1,
            "attention.n_heads",
        ),
        case(
            "expand = 2^57 (bench on a config)",
            &["bench", &p(&expand), "-c", "8", "-d", "1"],
            1,
            "mamba.expand",
        ),
        case(
            "100,000 layers",
            &["inspect", &p(&layers)],
            1,
            "the number of layers = 100000",
        ),
        case(
            "a typo in a config key",
            &["generate", &p(&typo)],
            1,
            "did you mean `mamba.conv_width`",
        ),
        case(
            "a NaN in the weights",
            &["generate", &p(&nan)],
            1,
            "non-finite",
        ),
        case(
            "truncated weights",
            &["inspect", &p(&truncated)],
            1,
            "truncated",
        ),
        case(
            "a 3-byte weights file",
            &["inspect", &p(&tiny)],
            1,
            "too short",
        ),
        case(
            "header length 2^64 - 1",
            &["inspect", &p(&huge_header)],
            1,
            "not a safetensors file",
        ),
        case(
            "weights of another architecture",
            &["inspect", &p(&other_weights)],
            1,
            "model.safetensors",
        ),
        case(
            "inspect a folder without weights",
            &["inspect", &p(&no_weights)],
            0,
            "were not checked",
        ),
        case(
            "inspect --context 2^64 - 1",
            &["inspect", &cfg_path, "--context", "18446744073709551615"],
            1,
            "--context 18446744073709551615 is over",
        ),
        case(
            "tokenizer.json is not a tokenizer",
            &["generate", &p(&bad_tok)],
            1,
            "bad-tokenizer/tokenizer.json",
        ),
        case(
            "tokenizer.json missing",
            &["generate", &p(&no_tok)],
            1,
            "no-tokenizer/tokenizer.json",
        ),
        case(
            "empty config.json",
            &["inspect", &p(&empty_cfg)],
            1,
            "config.json",
        ),
        case(
            "config.json is a JSON array",
            &["inspect", &p(&array_cfg)],
            1,
            "not a JSON object",
        ),
        Case {
            what: "temperature NaN",
            args: gen(&["-t", "NaN"]),
            stdin: None,
            code: 1,
            expect: "temperature = NaN",
        },
        Case {
            what: "temperature -1",
            args: gen(&["--temperature=-1"]),
            stdin: None,
            code: 1,
            expect: "temperature = -1",
        },
        Case {
            what: "top-p 1.5",
            args: gen(&["--top-p", "1.5"]),
            stdin: None,
            code: 1,
            expect: "top_p = 1.5",
        },
        Case {
            what: "top-p 0",
            args: gen(&["--top-p", "0"]),
            stdin: None,
            code: 1,
            expect: "top_p = 0",
        },
        Case {
            what: "both --prompt and --prompt-file",
            args: gen(&["-p", "x", "--prompt-file", "-"]),
            stdin: None,
            code: 1,
            expect: "not both",
        },
        Case {
            what: "prompt file not UTF-8",
            args: gen(&["--prompt-file", &p(&latin1)]),
            stdin: None,
            code: 1,
            expect: "not UTF-8",
        },
        Case {
            what: "odd text: NUL, BEL, RTL override, combining marks, emoji, CJK",
            args: gen(&["--prompt-file", &p(&odd)]),
            stdin: None,
            code: 0,
            expect: "Romeo",
        },
        Case {
            what: "prompt from standard input",
            args: gen(&["--prompt-file", "-"]),
            stdin: Some("To be, or not to be"),
            code: 0,
            expect: "To be, or not to be",
        },
        Case {
            what: "generate 0 tokens",
            args: vec![s("generate"), ok.clone(), s("-n"), s("0"), s("-p"), s("Hi")],
            stdin: None,
            code: 0,
            expect: "Hi",
        },
        case(
            "bench -b xyz",
            &["bench", &cfg_path, "-b", "xyz"],
            1,
            "--backend: `xyz`",
        ),
        case(
            "bench -d 0",
            &["bench", &cfg_path, "-d", "0"],
            1,
            "--decode must be at least 1",
        ),
        case(
            "bench -c 0",
            &["bench", &cfg_path, "-c", "0"],
            1,
            "at least 1",
        ),
        case(
            "bench --chunk 0",
            &["bench", &cfg_path, "--chunk", "0"],
            1,
            "--chunk must be at least 1",
        ),
        case(
            "bench -c 10^12",
            &["bench", &cfg_path, "-c", "1000000000000"],
            1,
            "refusing to start",
        ),
        case(
            "bench --json into a missing folder",
            &["bench", &cfg_path, "--json", "/nonexistent/dir/out.json"],
            1,
            "--json /nonexistent/dir/out.json",
        ),
        case(
            "recall --len 10^9",
            &["recall", &ok, "--len", "1000000000"],
            1,
            "refusing to start",
        ),
        case(
            "recall --cases 10^9",
            &["recall", &ok, "--cases", "1000000000"],
            1,
            "refusing to start",
        ),
        case(
            "recall --cases 0",
            &["recall", &ok, "--cases", "0"],
            1,
            "--cases must be at least 1",
        ),
    ]
}

fn half_nan() -> [u8; 2] {
    0x7e00u16.to_le_bytes()
}

/// Where the generated table of docs/RELIABILITY.md ends.
const END_OF_TABLE: &str = "<!-- end of generated table -->";

#[test]
fn every_bad_input_gets_a_clear_message() {
    let dir = scratch();
    let bin = env!("CARGO_BIN_EXE_hybrid");
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for c in cases(&dir) {
        let mut cmd = Command::new(bin);
        cmd.args(&c.args)
            .stdin(if c.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn hybrid");
        if let (Some(text), Some(mut sin)) = (c.stdin, child.stdin.take()) {
            use std::io::Write;
            sin.write_all(text.as_bytes()).expect("stdin");
        }
        let out = child.wait_with_output().expect("run hybrid");
        let code = out.status.code().unwrap_or(-1);
        let stream = if c.code == 0 {
            &out.stdout
        } else {
            &out.stderr
        };
        let text = String::from_utf8_lossy(stream).to_string();
        let first = text
            .lines()
            .find(|l| l.contains(c.expect))
            .or_else(|| text.lines().next())
            .unwrap_or("")
            .replace(&dir.display().to_string(), "<tmp>");
        if code != c.code || !text.contains(c.expect) {
            failures.push(format!(
                "{}: exit {code} (expected {}), expected `{}` in:\n{text}\n{}",
                c.what,
                c.code,
                c.expect,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // control characters (the odd-text case echoes NUL and BEL) shown escaped
        let shown: String = first
            .chars()
            .take(220)
            .map(|ch| match ch {
                c if c.is_control() => c.escape_unicode().to_string(),
                c => c.to_string(),
            })
            .collect();
        rows.push(format!(
            "| {} | `hybrid {}` | {code} | {} |",
            c.what,
            args_shown(&c.args, &dir),
            shown.replace('|', "\\|")
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
    let doc = root().join("docs/RELIABILITY.md");
    let table = format!(
        "# Reliability: bad input tried against the command line\n\n\
         Generated by `HYBRID_BLESS=1 cargo test -p hybrid-cli --test bad_inputs` (the test\n\
         checks every case on every run; `<tmp>` is its scratch folder). Exit 1 is a clear\n\
         error; 0 is an odd but valid input handled; no case may panic (101) or abort (134).\n\n\
         {} cases.\n\n| input | command | exit | message (first line) |\n|---|---|---|---|\n{}\n",
        rows.len(),
        rows.join("\n")
    );
    // Only the part above the marker is generated; what follows it (the fuzzing section)
    // is written by hand and kept as it is.
    let committed = std::fs::read_to_string(&doc).unwrap_or_default();
    let kept = committed.find(END_OF_TABLE).map_or_else(
        || format!("{END_OF_TABLE}\n"),
        |i| committed[i..].to_string(),
    );
    if std::env::var("HYBRID_BLESS").as_deref() == Ok("1") {
        std::fs::write(&doc, format!("{table}\n{kept}")).expect("write docs/RELIABILITY.md");
        return;
    }
    assert!(
        committed.contains(END_OF_TABLE),
        "docs/RELIABILITY.md lacks the `{END_OF_TABLE}` marker: rerun with HYBRID_BLESS=1"
    );
    let missing: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.trim_start_matches("| ").split(" | ").next())
        .filter(|what| !committed.contains(*what))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/RELIABILITY.md lacks {missing:?}: rerun with HYBRID_BLESS=1"
    );
}

fn args_shown(args: &[String], dir: &Path) -> String {
    let root = root().canonicalize().unwrap_or_else(|_| root());
    args.iter()
        .map(|a| {
            a.replace(&dir.display().to_string(), "<tmp>")
                .replace(&root.display().to_string(), ".")
        })
        .collect::<Vec<_>>()
        .join(" ")
}
