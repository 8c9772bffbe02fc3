//! Fuzz target: see `xwasm_fuzzing::check_rewrite_against_wasmi`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    xwasm_fuzzing::check_rewrite_against_wasmi(data);
});
