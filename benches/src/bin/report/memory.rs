//! Section 8: resident memory per cached module, and the address space an
//! instance slot reserves.

use crate::Row;
use xwasm::engine::EngineConfig;
use xwasm::{Transaction, Vm};
use xwasm_benches::{CHAIN, SENDER};

/// The memory rows.
pub(crate) fn measure(rows: &mut Vec<Row>) {
    // 8. Memory.
    let statm = || -> f64 {
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            * 4096.0
    };
    let before = statm();
    let many = Vm::builder().monitoring(None).build().unwrap();
    let count = 50;
    for i in 0..count {
        let wat =
            format!(r#"(module (memory (export "memory") 1) (func (export "m{i}") (drop (i32.const {i}))))"#);
        let wasm = wat::parse_str(wat).unwrap();
        many.deploy(&wasm, &CHAIN, &Transaction::new(SENDER, 100_000_000, Vec::new())).unwrap();
    }
    let per_module = (statm() - before) / count as f64;
    rows.push(Row {
        name: "resident memory per cached small module".into(),
        what: format!("{:.1} KiB", per_module / 1024.0),
        value: per_module / 1024.0,
        unit: "KiB",
        target: "-",
        met: None,
    });
    let pooling = EngineConfig::default().pooling.unwrap_or_default();
    let slot = pooling.memory_reservation_bytes as f64;
    rows.push(Row {
        name: "address space per pooled instance slot".into(),
        what: format!(
            "{:.0} MiB reserved (no bounds checks), resident only when touched; {} slots",
            slot / 1048576.0,
            pooling.total_instances
        ),
        value: slot / 1048576.0,
        unit: "MiB",
        target: "-",
        met: None,
    });
}
