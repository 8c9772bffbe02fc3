//! Hostile deployments: modules built to make compilation or instantiation
//! cost far more than their size suggests, or to declare more than the
//! engine can take. Each is a contract of ABI.md's shape (an exported
//! `memory`, no imports) so that the `xwasm` policy judges only what the
//! bomb is about.
//!
//! The hardening tests deploy each one at and past the policy's limits (it
//! must be refused by name before any compile work, or run), and the
//! performance report measures the worst accepted one per KB against the
//! corpus contracts.

use std::fmt::Write;

/// A module with one exported memory and these `items`.
fn contract(items: &str) -> Vec<u8> {
    let text = format!(r#"(module (memory (export "memory") 1) {items})"#);
    wat::parse_str(text).expect("bomb modules are valid WAT")
}

/// One function whose body is a chain of additions to a local, about
/// `body_bytes` long: the optimizing compiler's work grows faster than
/// linearly with one function's size.
pub fn huge_function(body_bytes: usize) -> Vec<u8> {
    // `local.get 0; i32.const 7; i32.add; local.set 0` is 7 bytes.
    let mut body = String::with_capacity(body_bytes * 6);
    for _ in 0..body_bytes / 7 {
        body.push_str("(local.set 0 (i32.add (local.get 0) (i32.const 7)))");
    }
    contract(&format!(r#"(func (export "run") (local i32) {body})"#))
}

/// One function of about `body_bytes` whose `locals` i64 locals are all
/// live at once, mixed pseudo-randomly inside one loop: register pressure
/// across a back edge, the register allocator's hard case.
pub fn register_pressure(locals: usize, body_bytes: usize) -> Vec<u8> {
    let mut body = String::with_capacity(body_bytes * 8);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    // `local.get a; local.get b; i64.add; local.set c`: an opcode byte
    // each, and each index in LEB128. The loop, its `br_if` and the
    // locals' declaration take a few more.
    let leb = |index: usize| {
        if index < 128 {
            1
        } else if index < 16_384 {
            2
        } else {
            3
        }
    };
    let mut bytes = 32;
    loop {
        let (a, b, c) = (next(locals), next(locals), next(locals));
        bytes += 4 + leb(a) + leb(b) + leb(c);
        if bytes > body_bytes {
            break;
        }
        let _ = write!(body, "(local.set {c} (i64.add (local.get {a}) (local.get {b})))");
    }
    contract(&format!(
        r#"(func (export "run") (local{}) (loop $again {body} (br_if $again (i64.eqz (local.get 0)))))"#,
        " i64".repeat(locals)
    ))
}

/// One function whose blocks nest `depth` deep, `times` times over.
pub fn deep_nesting(depth: usize, times: usize) -> Vec<u8> {
    let mut body = String::new();
    for _ in 0..times {
        body.push_str(&"(block ".repeat(depth));
        body.push_str("(local.set 0 (i32.add (local.get 0) (i32.const 1)))");
        body.push_str(&")".repeat(depth));
    }
    contract(&format!(r#"(func (export "run") (local i32) {body})"#))
}

/// `functions` functions, each declaring `locals` i64 locals (four bytes
/// of code each, however many locals: compilers zero every one).
pub fn many_locals(locals: usize, functions: usize) -> Vec<u8> {
    let mut items = String::new();
    for f in 0..functions {
        let _ = write!(items, "(func $f{f} (local {}) (local.set 0 (i64.const 1)))", " i64".repeat(locals));
    }
    items.push_str(r#"(func (export "run"))"#);
    contract(&items)
}

/// A `br_table` of `targets` targets, repeated `times` times in one
/// function.
pub fn wide_br_table(targets: usize, times: usize) -> Vec<u8> {
    let labels = " 0".repeat(targets);
    let mut body = String::new();
    for _ in 0..times {
        let _ = write!(body, "(block (br_table{labels} 0 (local.get 0)))");
    }
    contract(&format!(r#"(func (export "run") (local i32) {body})"#))
}

/// `functions` small functions, each returning its index; `run` calls
/// the first.
pub fn many_functions(functions: usize) -> Vec<u8> {
    let mut items = String::new();
    for f in 0..functions {
        let _ = write!(items, "(func $f{f} (result i32) (i32.const {f}))");
    }
    items.push_str(r#"(func (export "run") (drop (call $f0)))"#);
    contract(&items)
}

/// `tables` funcref tables of `elements` elements each.
pub fn tables(tables: usize, elements: u64) -> Vec<u8> {
    let mut items = String::new();
    for _ in 0..tables {
        let _ = write!(items, "(table {elements} funcref)");
    }
    items.push_str(r#"(func (export "run"))"#);
    contract(&items)
}

/// A memory of `pages` initial pages (instead of the usual 1).
pub fn initial_memory(pages: u64) -> Vec<u8> {
    wat::parse_str(format!(r#"(module (memory (export "memory") {pages}) (func (export "run")))"#))
        .expect("valid WAT")
}

/// Every bomb at a size meant to hurt, by name: what the hardening tests
/// deploy and the report measures.
pub fn all_at(scale: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("huge function", huge_function(scale * 1024)),
        ("register pressure", register_pressure(512, scale * 1024)),
        ("deep nesting", deep_nesting(1_000, scale)),
        ("many locals", many_locals(50_000, scale)),
        ("wide br_table", wide_br_table(16_000, scale)),
        ("many functions", many_functions(scale * 100)),
    ]
}
