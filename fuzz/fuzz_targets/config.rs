//! `config.json` bytes. Body: `hybrid_core::fuzz::config` (parse; when valid, every
//! derived size, a JSON round trip, and for small configs random weights and a forward).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hybrid_core::fuzz::config(data);
});
