//! Properties of the safetensors reader.

use super::*;

/// Split a safetensors file into its header (parsed, an object) and its data; `None` when
/// an earlier edit broke the header.
fn split(file: &[u8]) -> Option<(Value, &[u8])> {
    let n = usize::try_from(u64::from_le_bytes(file.get(..8)?.try_into().ok()?)).ok()?;
    let header: Value = serde_json::from_slice(file.get(8..8usize.checked_add(n)?)?).ok()?;
    header.is_object().then(|| (header, &file[8 + n..]))
}

fn join(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out
}

/// Keys worth adding to a safetensors header or a tensor entry.
const SAFETENSORS_KEYS: &[&str] = &[
    "dtype",
    "shape",
    "data_offsets",
    "__metadata__",
    "embed_tokens.weight",
    "norm_f.weight",
    "lm_head.weight",
    "layers.0.mixer.A_log",
];

/// What is done to a fixture's weights file.
#[derive(Debug, Clone)]
enum FileEdit {
    Bytes(Vec<ByteEdit>),
    /// Edit the JSON header and write it back with its new length.
    Header(Vec<JsonEdit>),
    /// A tensor's entry: a dtype, a shape, or data offsets of any size.
    Entry(Index, EntryEdit),
    /// The 8-byte header length: any value, or the true one plus a small delta.
    HeaderLen(u64),
    HeaderLenDelta(i64),
}

#[derive(Debug, Clone)]
enum EntryEdit {
    Dtype(&'static str),
    Shape(Vec<u64>),
    Offsets(u64, u64),
}

fn file_edit() -> impl Strategy<Value = FileEdit> {
    let dim = prop_oneof![
        4 => 0u64..10,
        1 => select(vec![64u64, 128, 256, 1 << 31, 1 << 32, 1 << 62, u64::MAX]),
    ];
    let offset = prop_oneof![
        3 => 0u64..4096,
        1 => select(vec![1u64 << 20, 1 << 32, 1 << 63, u64::MAX - 1, u64::MAX]),
    ];
    let entry = prop_oneof![
        select(vec![
            "F32", "F16", "BF16", "F64", "I32", "U8", "BOOL", "F8_E4M3", "F4", "f32", ""
        ])
        .prop_map(EntryEdit::Dtype),
        prop::collection::vec(dim, 0..4).prop_map(EntryEdit::Shape),
        (offset.clone(), offset).prop_map(|(a, b)| EntryEdit::Offsets(a, b)),
    ];
    prop_oneof![
        4 => prop::collection::vec(byte_edit(), 1..4).prop_map(FileEdit::Bytes),
        4 => prop::collection::vec(json_edit(SAFETENSORS_KEYS), 1..3).prop_map(FileEdit::Header),
        4 => (any::<Index>(), entry).prop_map(|(i, e)| FileEdit::Entry(i, e)),
        1 => any::<u64>().prop_map(FileEdit::HeaderLen),
        1 => (-16i64..16).prop_map(FileEdit::HeaderLenDelta),
    ]
}

fn apply_file(file: &[u8], edit: &FileEdit) -> Vec<u8> {
    match edit {
        FileEdit::Bytes(edits) => {
            let mut b = file.to_vec();
            edits.iter().for_each(|e| apply_bytes(&mut b, e));
            b
        }
        FileEdit::Header(edits) => {
            let Some((mut h, data)) = split(file) else {
                return file.to_vec();
            };
            edits.iter().for_each(|e| apply_json(&mut h, e));
            join(h.to_string().as_bytes(), data)
        }
        FileEdit::Entry(i, e) => {
            let Some((mut h, data)) = split(file) else {
                return file.to_vec();
            };
            let names: Vec<String> = h.as_object().expect("header").keys().cloned().collect();
            if names.is_empty() {
                return file.to_vec();
            }
            let entry = &mut h[&names[i.index(names.len())]];
            if !entry.is_object() {
                *entry = json!({});
            }
            match e {
                EntryEdit::Dtype(d) => entry["dtype"] = json!(d),
                EntryEdit::Shape(s) => entry["shape"] = json!(s),
                EntryEdit::Offsets(a, b) => entry["data_offsets"] = json!([a, b]),
            }
            join(h.to_string().as_bytes(), data)
        }
        FileEdit::HeaderLen(_) | FileEdit::HeaderLenDelta(_) if file.len() < 8 => file.to_vec(),
        FileEdit::HeaderLen(n) => {
            let mut b = file.to_vec();
            b[..8].copy_from_slice(&n.to_le_bytes());
            b
        }
        FileEdit::HeaderLenDelta(d) => {
            let mut b = file.to_vec();
            let n = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
            b[..8].copy_from_slice(&n.wrapping_add_signed(*d).to_le_bytes());
            b
        }
    }
}

#[test]
fn the_fixtures_load_unmutated() {
    for (name, cfg, w) in fixtures() {
        assert!(Model::from_bytes(cfg, w).is_ok(), "{name}");
        fuzz::safetensors(cfg, w);
    }
}

#[test]
fn mutated_weights_never_panic() {
    let strategy = (any::<Index>(), prop::collection::vec(file_edit(), 1..3));
    let (n, accepted) = run(strategy, |(fixture, edits)| {
        let (_, cfg, w) = &fixtures()[fixture.index(fixtures().len())];
        let mut file = w.clone();
        for e in &edits {
            file = apply_file(&file, e);
        }
        fuzz::safetensors(cfg, &file);
        Model::from_bytes(cfg, &file).is_ok()
    });
    // most edits break the file; a flip in the data (a finite float) does not
    assert!(
        accepted < n,
        "every mutated file loaded: the edits do nothing"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // raw bytes, and a plausible header (entries with any dtype, shape and offsets) over
    // a few bytes of data
    let entry = (
        select(vec![
            "embed_tokens.weight",
            "norm_f.weight",
            "__metadata__",
            "x",
        ]),
        json_value(),
    );
    let header = prop::collection::vec(entry, 0..4)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.into(), v)).collect()));
    let strategy = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (header, prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(h, d)| join(h.to_string().as_bytes(), &d)),
    ];
    run((any::<Index>(), strategy), |(fixture, bytes)| {
        let (_, cfg, _) = &fixtures()[fixture.index(fixtures().len())];
        fuzz::safetensors(cfg, &bytes);
        false
    });
}

#[test]
fn a_valid_file_written_again_still_loads() {
    // the tensors in any order, with or without metadata: the same weights
    let metadata = prop::option::of(prop::collection::hash_map("[a-z]{1,6}", ".{0,12}", 0..4));
    let strategy = (any::<Index>(), any::<u64>(), metadata);
    let (n, accepted) = run(strategy, |(fixture, seed, meta)| {
        let (name, cfg, w) = &fixtures()[fixture.index(fixtures().len())];
        let st = SafeTensors::deserialize(w).expect("fixture");
        let mut tensors: Vec<(String, TensorView)> = st.tensors();
        // a seeded shuffle
        let mut s = seed;
        for i in (1..tensors.len()).rev() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            tensors.swap(i, (s >> 33) as usize % (i + 1));
        }
        let file = safetensors::serialize(tensors, meta).expect("serialize");
        fuzz::safetensors(cfg, &file);
        let again = Model::from_bytes(cfg, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let first = Model::from_bytes(cfg, w).expect("fixture");
        assert_eq!(again.weights().norm_f, first.weights().norm_f, "{name}");
        assert_eq!(
            again.weights().embed_tokens,
            first.weights().embed_tokens,
            "{name}"
        );
        true
    });
    assert_eq!(accepted, n);
}
