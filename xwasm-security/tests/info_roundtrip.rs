//! A module's description survives JSON: the disk tier keeps it beside
//! the artifact, and a hit reads it back instead of the operators.

#[test]
fn descriptions_round_trip_through_json() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let policy = xwasm_security::ModulePolicy::new(xwasm_security::Profile::Permissive, Vec::new());
    for name in ["hackatom.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm", "empty.wasm"] {
        let wasm = std::fs::read(dir.join(name)).unwrap();
        let info = policy.inspect(&wasm).unwrap();
        let json = serde_json::to_vec(&info).unwrap();
        let back: xwasm_security::ModuleInfo =
            serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, info, "{name}");
    }
}

/// The disk tier keeps the description made when the code was compiled
/// (`check`) and a hit uses it where a load of stored code made its own
/// (`check_stored`): both must describe the code alike.
#[test]
fn stored_code_is_described_as_new_code_is() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    let policy = xwasm_security::ModulePolicy::new(xwasm_security::Profile::Permissive, Vec::new());
    for name in ["hackatom.wasm", "ibc_reflect.wasm", "floaty_2.0.wasm", "cyberpunk.wasm"] {
        let wasm = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(policy.check(&wasm).unwrap(), policy.check_stored(&wasm).unwrap(), "{name}");
    }
}
