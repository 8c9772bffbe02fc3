//! The real contracts of `../shared/corpus` (CosmWasm's test data):
//! refused by the xwasm profile with a message naming the first foreign
//! import, described exactly, and valid under the permissive profile,
//! except `corrupted.wasm`.

use xwasm_security::{ModulePolicy, PolicyViolation, Profile};

fn corpus(name: &str) -> Vec<u8> {
    let path = format!("{}/../../shared/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const WITH_ENV_IMPORTS: [&str; 4] =
    ["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm"];

#[test]
fn the_xwasm_profile_names_the_first_foreign_import() {
    let policy = ModulePolicy::new(Profile::Xwasm, Vec::new());
    for name in WITH_ENV_IMPORTS {
        let wasm = corpus(name);
        let first =
            ModulePolicy::new(Profile::Permissive, Vec::new()).check(&wasm).unwrap().imports[0].clone();
        match policy.check(&wasm) {
            Err(PolicyViolation::ForbiddenImport { module, name: import, .. }) => {
                assert_eq!(
                    (module.as_str(), import.as_str()),
                    (first.module.as_str(), first.name.as_str()),
                    "{name}"
                );
                assert_eq!(module, "env");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn inspection_describes_hackatom_exactly() {
    let info = ModulePolicy::new(Profile::Xwasm, Vec::new()).inspect(&corpus("hackatom.wasm")).unwrap();
    assert_eq!(info.code_hash, "2a165f6d9ada2eac928570c1fc228e26fbd24be000d05c55298aaae4ae657e58");
    assert_eq!(info.size, 296_109);
    assert_eq!(info.imports.len(), 20);
    assert_eq!((info.imports[0].module.as_str(), info.imports[0].name.as_str()), ("env", "abort"));
    let memory = info.memory.unwrap();
    assert_eq!(memory.initial_pages, 17);
    for export in ["instantiate", "execute", "query", "allocate", "deallocate", "memory"] {
        assert!(info.export(export).is_some(), "{export}");
    }
    assert!(!info.verdict.accepted);
    assert!(info.verdict.reason.as_deref().unwrap().contains("env::abort"));
    assert!(info.function_count > 100);
}

#[test]
fn empty_has_no_imports_and_no_entry_points() {
    let info = ModulePolicy::new(Profile::Permissive, Vec::new()).check(&corpus("empty.wasm")).unwrap();
    assert!(info.imports.is_empty());
    for entry_point in ["instantiate", "execute", "query"] {
        assert!(info.export(entry_point).is_none(), "{entry_point}");
    }
}

#[test]
fn floaty_uses_floats_and_a_float_free_policy_refuses_it() {
    let permissive = ModulePolicy::new(Profile::Permissive, Vec::new());
    assert!(permissive.check(&corpus("floaty_2.0.wasm")).unwrap().uses_floats);
    let mut strict = permissive;
    strict.allow_floats = false;
    assert!(matches!(strict.check(&corpus("floaty_2.0.wasm")), Err(PolicyViolation::Invalid { .. })));
}

#[test]
fn corrupted_is_invalid_and_names_the_function() {
    let err =
        ModulePolicy::new(Profile::Permissive, Vec::new()).check(&corpus("corrupted.wasm")).unwrap_err();
    match &err {
        PolicyViolation::Invalid { function: Some(_), .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("in function"), "{err}");
}

#[test]
fn limits_refuse_before_compiling() {
    let mut policy = ModulePolicy::new(Profile::Permissive, Vec::new());
    policy.limits.max_module_bytes = 100_000;
    assert!(matches!(
        policy.check(&corpus("hackatom.wasm")),
        Err(PolicyViolation::TooLarge { size: 296_109, limit: 100_000 })
    ));
    // 100,000 functions.
    let mut wat = String::from("(module");
    for _ in 0..100_000 {
        wat.push_str(" (func)");
    }
    wat.push(')');
    let err =
        ModulePolicy::new(Profile::Permissive, Vec::new()).check(&wat::parse_str(&wat).unwrap()).unwrap_err();
    assert!(matches!(err, PolicyViolation::LimitExceeded { what: "functions", found: 100_000, .. }), "{err}");
}

#[test]
fn truncated_and_random_bytes_are_invalid() {
    let policy = ModulePolicy::new(Profile::Permissive, Vec::new());
    let wasm = corpus("hackatom.wasm");
    // (The 8-byte preamble alone is a valid empty module.)
    for cut in [4, 100, 10_000, wasm.len() - 1] {
        assert!(matches!(policy.check(&wasm[..cut]), Err(PolicyViolation::Invalid { .. })), "cut at {cut}");
    }
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert!(policy.check(&random).is_err());
    assert!(matches!(policy.check(&[]), Err(PolicyViolation::Empty)));
}

#[test]
fn invalid_utf8_in_names_is_invalid() {
    // An export named with the bytes ff fe: the name section and export
    // names must be UTF-8.
    let mut wasm = wat::parse_str(r#"(module (func (export "ab")))"#).unwrap();
    let position = wasm.windows(2).position(|w| w == b"ab").unwrap();
    wasm[position] = 0xff;
    wasm[position + 1] = 0xfe;
    let err = ModulePolicy::new(Profile::Permissive, Vec::new()).check(&wasm).unwrap_err();
    assert!(matches!(err, PolicyViolation::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

/// The rewrite and the description read the function bodies on every
/// core: on one thread and on four, every contract of the corpus gets the
/// same rewritten bytes (both meters) and the same description.
#[test]
fn bodies_read_on_every_core_give_what_one_thread_gives() {
    use xwasm_security::preprocess::{Meter, RewriteOptions, StackLimit, preprocess};
    let policy = ModulePolicy::new(Profile::Permissive, Vec::new());
    let run = |threads: usize, wasm: &[u8]| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let rewrites: Vec<_> = [Meter::Operators, Meter::Cosmwasm]
                .into_iter()
                .map(|meter| {
                    let options = RewriteOptions { meter, ..Default::default() };
                    preprocess(wasm, StackLimit { max_units: 1_000 }, options, policy.features())
                })
                .collect();
            (rewrites, policy.check(wasm).map(|info| serde_json::to_string(&info).unwrap()))
        })
    };
    let mut rewritten = 0;
    for name in ["hackatom.wasm", "cyberpunk.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm", "corrupted.wasm"] {
        let wasm = corpus(name);
        let (one, four) = (run(1, &wasm), run(4, &wasm));
        assert_eq!(one, four, "{name}");
        rewritten += one.0.iter().filter(|r| r.is_ok()).count();
    }
    assert_eq!(rewritten, 8, "every valid contract rewritten under both meters");
}

/// `check` validates through the rewrite's analysis (one pass over the
/// operators for the checks, the description and the rewrite): it must
/// refuse what `Validator::validate_all` refuses, with the same message
/// and offset, and describe and rewrite what it accepts as the separate
/// passes do (a description that reads the bodies itself, an analysis of
/// the rewrite's own).
#[test]
fn one_pass_checks_as_validate_all_and_rewrites_as_the_separate_passes() {
    let hackatom = corpus("hackatom.wasm");
    let mut inputs: Vec<Vec<u8>> =
        std::fs::read_dir(format!("{}/../../shared/corpus", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
            .map(|path| std::fs::read(path).unwrap())
            .collect();
    inputs.extend([8, 100, 1_000, 50_000, hackatom.len() - 1].map(|n| hackatom[..n].to_vec()));
    // An export of a function that does not exist, then one whose name
    // is not UTF-8: the validator's error (the first entry) comes first.
    inputs.push(vec![0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 7, 9, 2, 1, b'a', 0, 5, 1, 0xff, 0, 0]);
    inputs.extend(
        [
            include_str!("../../examples/contracts/token.wat"),
            "(module (func (result i32) (i32.add (i32.const 1))))",
            "(module (memory 1) (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))",
            "(module (func (result f32) (f32.const 1)))",
            "(module (func block))",
            "(module (func (local v128)))",
        ]
        .map(|text| wat::parse_str(text).unwrap()),
    );
    let mut cosmwasm_metered = ModulePolicy::new(Profile::Permissive, Vec::new());
    cosmwasm_metered.rewrite.meter = xwasm_security::preprocess::Meter::Cosmwasm;
    let mut float_free = ModulePolicy::new(Profile::Permissive, Vec::new());
    float_free.allow_floats = false;
    let policies = [ModulePolicy::new(Profile::Permissive, Vec::new()), cosmwasm_metered, float_free];
    let (mut refused, mut accepted) = (0, 0);
    for policy in &policies {
        for wasm in &inputs {
            let reference = wasmparser::Validator::new_with_features(policy.features()).validate_all(wasm);
            match (reference, policy.check_and_analyze(wasm)) {
                (Err(e), Err(PolicyViolation::Invalid { message, offset, .. })) => {
                    assert_eq!((message.as_str(), offset), (e.message(), e.offset()));
                    refused += 1;
                }
                (Err(e), other) => {
                    panic!("validate_all refused ({e}), check gave {:?}", other.map(|(info, _)| info))
                }
                (Ok(_), checked) => {
                    let separate = policy.check_stored(wasm);
                    match checked {
                        Ok((info, analysis)) => {
                            assert_eq!(Ok(&info), separate.as_ref());
                            assert_eq!(
                                policy.preprocess_analyzed(wasm, &analysis).unwrap(),
                                policy.preprocess(wasm).unwrap()
                            );
                            accepted += 1;
                        }
                        Err(violation) => assert_eq!(Err(violation), separate),
                    }
                }
            }
        }
    }
    assert!(refused >= 15 && accepted >= 20, "{refused} refused, {accepted} accepted");
}
