//! Fuzz target: see `xwasm_fuzzing::check_bytes_pipeline`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xwasm_fuzzing::check_bytes_pipeline(data));
