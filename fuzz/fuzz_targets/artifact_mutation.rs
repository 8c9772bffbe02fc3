//! Fuzz target: see `xwasm_fuzzing::check_artifact_mutation`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xwasm_fuzzing::check_artifact_mutation(data));
