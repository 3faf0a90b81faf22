//! The shape of the code, checked: which module may import which.
//!
//! - In every crate of the workspace, no module imports a module that imports it back
//!   (directly or through others). Edges are the `crate::` / `super::` / `self::` paths
//!   a file names (in `use` lines or inline), resolved to the deepest module file that
//!   exists. A module reaching its own ancestor (a child using `super::Type`, the crate
//!   root's re-exports) is the normal facade pattern and is not an edge.
//! - `core`'s data modules (config, weights, header, probes, sample, tasks, tokenizer, error)
//!   import no engine: the engines (`core/src/cpu`, `hybrid-gpu`) import them.
//!
//! The parser is deliberately small: it reads paths, not Rust syntax, which is enough for
//! the code's own style (no glob re-exports across siblings). Paths written `$crate::` in
//! a macro body belong to the module where the macro expands (e.g. the kernel table's
//! `params` column, expanded only in `gpu/src/contract.rs`), so they are not edges here.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path inside one crate, e.g. `["model", "session"]` (the root is `[]`).
type ModPath = Vec<String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `src` with its module path.
fn modules(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|s| s.to_str()) != Some("rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap_or(&p);
            let mut parts: ModPath = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            let last = parts.last().cloned().unwrap_or_default();
            if last == "mod" || (parts.len() == 1 && (last == "lib" || last == "main")) {
                parts.pop();
            }
            out.insert(parts, p);
        }
    }
    out
}

/// Source without line comments (doc comments name modules in prose).
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names that start with `crate`, `super` or `self`, brace groups
/// expanded one level (`crate::{a::X, b}` gives `crate::a::X` and `crate::b`).
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // `$crate::` in a macro body resolves where the macro expands, not here
        let start_ok =
            i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b':' || bytes[i - 1] == b'$');
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| bytes[i..].starts_with(h.as_bytes()));
        let Some(head) = head.filter(|_| start_ok) else {
            i += 1;
            continue;
        };
        // read `seg::seg::...`, then an optional `{...}` group
        let mut j = i;
        let mut prefix = Vec::new();
        loop {
            let s = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            if s == j {
                break;
            }
            prefix.push(code[s..j].to_string());
            if bytes[j..].starts_with(b"::") {
                j += 2;
            } else {
                break;
            }
        }
        if bytes[j..].starts_with(b"{") {
            let close = code[j..].find('}').map_or(code.len(), |k| j + k);
            for item in code[j + 1..close].split(',') {
                let mut p = prefix.clone();
                p.extend(
                    item.split("::")
                        .map(|s| s.trim().trim_start_matches('{').to_string())
                        .filter(|s| !s.is_empty()),
                );
                out.push(p);
            }
            j = close;
        } else {
            out.push(prefix);
        }
        i = j.max(i + head.len());
    }
    out
}

/// Resolve a named path from module `from` to the deepest existing module.
fn resolve(
    from: &ModPath,
    is_dir_module: bool,
    path: &[String],
    mods: &BTreeMap<ModPath, PathBuf>,
) -> Option<ModPath> {
    let mut base: ModPath = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("self") => {
            base = from.clone();
            rest = &path[1..];
        }
        Some("super") => {
            base = from.clone();
            // `super` from a file module `a/b.rs` is `a`; from `a/b/mod.rs` also `a`.
            let _ = is_dir_module;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut best = base.clone();
    let mut cur = base;
    for seg in rest {
        cur.push(seg.clone());
        if mods.contains_key(&cur) {
            best = cur.clone();
        } else {
            break;
        }
    }
    Some(best)
}

/// Import edges of one crate, ancestors excluded.
fn edges(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mods = modules(src);
    let mut g: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (m, file) in &mods {
        let is_dir_module = file.file_name().is_some_and(|f| f == "mod.rs");
        let entry = g.entry(m.clone()).or_default();
        for p in named_paths(&code_of(file)) {
            let Some(to) = resolve(m, is_dir_module, &p, &mods) else {
                continue;
            };
            let ancestor = to.len() <= m.len() && m[..to.len()] == to[..];
            if !ancestor {
                entry.insert(to);
            }
        }
    }
    g
}

/// The circles of `g`: its strongly connected components of more than one module
/// (Tarjan), each sorted.
fn circles(g: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Tarjan<'a> {
        g: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<ModPath, usize>,
        low: BTreeMap<ModPath, usize>,
        stack: Vec<ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, n: &ModPath) {
            let i = self.index.len();
            self.index.insert(n.clone(), i);
            self.low.insert(n.clone(), i);
            self.stack.push(n.clone());
            for m in self.g.get(n).into_iter().flatten() {
                if !self.index.contains_key(m) {
                    self.visit(m);
                    let lm = self.low[m];
                    let ln = self.low.get_mut(n).expect("visited");
                    *ln = (*ln).min(lm);
                } else if self.stack.contains(m) {
                    let im = self.index[m];
                    let ln = self.low.get_mut(n).expect("visited");
                    *ln = (*ln).min(im);
                }
            }
            if self.low[n] == self.index[n] {
                let mut comp = Vec::new();
                while let Some(m) = self.stack.pop() {
                    let done = &m == n;
                    comp.push(m);
                    if done {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for n in g.keys() {
        if !t.index.contains_key(n) {
            t.visit(n);
        }
    }
    t.out
}

fn show(c: &[ModPath]) -> String {
    c.iter()
        .map(|m| {
            if m.is_empty() {
                "crate".to_string()
            } else {
                m.join("::")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut failures = Vec::new();
    for krate in ["core", "gpu", "app", "cli"] {
        let src = root().join(krate).join("src");
        assert!(src.is_dir(), "{} is missing", src.display());
        let g = edges(&src);
        assert!(
            g.len() > 1,
            "{krate}: found no modules under {}",
            src.display()
        );
        for c in circles(&g) {
            failures.push(format!("{krate}: {{{}}}", show(&c)));
        }
    }
    assert!(
        failures.is_empty(),
        "import circles:\n{}",
        failures.join("\n")
    );
}

#[test]
fn core_data_modules_import_no_engine() {
    let src = root().join("core/src");
    let g = edges(&src);
    let data = [
        "config",
        "weights",
        "probes",
        "sample",
        "tasks",
        "tokenizer",
        "error",
        "header",
    ];
    let mut bad = Vec::new();
    for (m, to) in &g {
        if m.first().is_some_and(|f| data.contains(&f.as_str())) {
            for t in to {
                if t.first().map(String::as_str) == Some("cpu") {
                    bad.push(format!("{} imports {}", m.join("::"), t.join("::")));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "data modules importing an engine:\n{}",
        bad.join("\n")
    );
}

/// The checker itself: a circle written in test data is found, an ancestor is not one.
#[test]
fn the_checker_finds_a_circle() {
    let dir = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let src = dir.join("src");
    fs::create_dir_all(src.join("model")).expect("temp dir");
    let write = |p: &str, s: &str| fs::write(src.join(p), s).expect("write");
    write("lib.rs", "pub mod model;\npub use model::Session;\n");
    write(
        "model/mod.rs",
        "mod plan;\nmod session;\npub use session::Session;\n",
    );
    write(
        "model/session.rs",
        "use super::plan::Plan;\npub struct Session;\n",
    );
    write(
        "model/plan.rs",
        "use crate::model::{session::Session, other};\npub struct Plan;\n",
    );
    let g = edges(&src);
    let c: Vec<String> = circles(&g).iter().map(|c| show(c)).collect();
    assert_eq!(c, ["model::plan, model::session"]);
    write(
        "model/plan.rs",
        "pub struct Plan; // crate::model::session\n",
    );
    assert!(circles(&edges(&src)).is_empty());
    let _ = fs::remove_dir_all(&dir);
}
