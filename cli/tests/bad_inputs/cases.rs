//! Every case tried: what, the arguments, the expected exit code and message.

use std::path::Path;
use std::process::Command;

use super::files::{edit_config, edit_weights, half_nan, model_copy};
use super::{more, root};

/// One case: what is tried, the arguments, the expected exit code and a part of the
/// expected message (stderr for failures, stdout for successes).
pub struct Case {
    pub what: &'static str,
    pub args: Vec<String>,
    pub stdin: Option<&'static str>,
    pub code: i32,
    pub expect: &'static str,
}

pub fn case(what: &'static str, args: &[&str], code: i32, expect: &'static str) -> Case {
    Case {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        code,
        expect,
    }
}

pub fn cases(dir: &Path) -> Vec<Case> {
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
    .into_iter()
    .chain(more::cases(dir, &ok))
    .collect()
}
