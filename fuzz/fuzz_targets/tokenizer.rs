//! `tokenizer.json` bytes, then (after a 0xFF byte, which UTF-8 JSON never holds) the
//! text to encode and the ids to decode (little-endian u16 pairs, some out of the
//! vocabulary). Body: `hybrid_core::fuzz::tokenizer`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (json, tail) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(tail);
    let ids: Vec<u32> = tail
        .chunks(2)
        .map(|c| u32::from(c[0]) | u32::from(*c.get(1).unwrap_or(&0)) << 8)
        .collect();
    hybrid_core::fuzz::tokenizer(json, &text, &ids);
});
