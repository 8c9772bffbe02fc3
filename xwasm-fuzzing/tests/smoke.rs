//! A bounded smoke run of every fuzz oracle on deterministic inputs, and a
//! replay of the checked-in corpus in `fuzz/corpus/`. Longer runs use
//! cargo-fuzz (`cargo +nightly fuzz run <target>` in `fuzz/`).

use std::path::Path;

/// Deterministic pseudo-random inputs (xorshift), varied in length.
fn inputs(seed: u64, count: usize, max_len: usize) -> Vec<Vec<u8>> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = (next() % max_len as u64) as usize + 1;
            (0..len).map(|_| (next() >> 24) as u8).collect()
        })
        .collect()
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn bytes_pipeline() {
    for input in corpus("bytes_pipeline").into_iter().chain(inputs(1, 300, 600)) {
        xwasm_fuzzing::check_bytes_pipeline(&input);
    }
}

#[test]
fn abi_module_twice() {
    let (mut generated, mut deployed) = (0, 0);
    for input in corpus("abi_module").into_iter().chain(inputs(2, 40, 4096)) {
        generated += xwasm_fuzzing::abi_module(&input).is_some() as u32;
        match xwasm_fuzzing::deploy_error(&input) {
            None if xwasm_fuzzing::abi_module(&input).is_some() => deployed += 1,
            Some(error) => eprintln!("not deployed: {error}"),
            None => {}
        }
        xwasm_fuzzing::check_abi_module(&input);
    }
    eprintln!("{generated} generated, {deployed} deployed");
    assert!(generated >= 20, "only {generated} modules generated");
    assert!(deployed >= generated / 2, "only {deployed} of {generated} modules deployed");
}

#[test]
fn differential() {
    for input in corpus("differential").into_iter().chain(inputs(3, 40, 4096)) {
        xwasm_fuzzing::check_differential(&input);
    }
}

#[test]
fn artifact_mutation() {
    for input in corpus("artifact_mutation").into_iter().chain(inputs(4, 300, 64)) {
        xwasm_fuzzing::check_artifact_mutation(&input);
    }
}

#[test]
fn rewrite_against_wasmi() {
    let (mut modules, mut compared, mut memories, mut globals, mut disagreements) = (0, 0, 0, 0, 0);
    for input in inputs(5, 150, 2048) {
        modules += xwasm_fuzzing::interpreter_module(&input).is_some() as usize;
        let run = xwasm_fuzzing::check_rewrite_against_wasmi(&input);
        compared += run.calls;
        memories += run.memories;
        globals += run.globals;
        disagreements += run.interpreter_disagreements;
    }
    eprintln!(
        "{modules} modules, {compared} calls compared ({memories} with memory, {globals} with globals), wasmi alone disagreed on {disagreements}"
    );
    assert!(modules >= 100 && compared >= 100, "only {compared} calls of {modules} modules compared");
    assert!(memories >= compared / 4, "only {memories} final memories compared");
    assert!(globals >= compared / 4, "only {globals} calls' globals compared");
}

/// A longer run of oracle 5: `XWASM_INPUTS=5000 cargo test -p xwasm-fuzzing
/// --test smoke -- --ignored rewrite_against_wasmi_long`.
#[test]
#[ignore]
fn rewrite_against_wasmi_long() {
    let count = std::env::var("XWASM_INPUTS").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000);
    let (mut compared, mut memories, mut globals, mut disagreements) = (0, 0, 0, 0);
    let started = std::time::Instant::now();
    for input in inputs(6, count, 4096) {
        let run = xwasm_fuzzing::check_rewrite_against_wasmi(&input);
        compared += run.calls;
        memories += run.memories;
        globals += run.globals;
        disagreements += run.interpreter_disagreements;
    }
    eprintln!(
        "{count} inputs in {:.1} s, {compared} calls compared ({memories} with memory, {globals} with globals), wasmi alone disagreed on {disagreements}",
        started.elapsed().as_secs_f64()
    );
}
