//! Sections 1 and 2: the framework's overhead on an empty method and on
//! a token transfer, and what monitoring costs.

use crate::measure::{human_ns, median_ns, paired_ns};
use crate::{Row, Settings};
use xwasm::{Transaction, Vm};
use xwasm_benches::{
    CHAIN, EMPTY_CONTRACT, MinimalEmbedding, RECIPIENT, SENDER, TOKEN, deployed_on, transfer_input,
};

/// The overhead rows, against `baseline` (a minimal wasmtime embedding).
pub(crate) fn measure(settings: Settings, baseline: &MinimalEmbedding, rows: &mut Vec<Row>) {
    let Settings { samples, scale, .. } = settings;
    // 1. Framework overhead on an empty method.
    // Each pair is measured in alternation (`paired_ns`): the ratios are
    // medians of per-round ratios.
    let minimal_call = || {
        baseline.call("noop");
    };
    let (vm, noop) = deployed_on(Vm::builder(), EMPTY_CONTRACT, &[]);
    let tx = Transaction::new(SENDER, 1_000_000, Vec::new());
    let empty_call = || {
        std::hint::black_box(vm.call(&noop, "noop", &CHAIN, &tx).unwrap());
    };
    let (empty, minimal, empty_ratio) = paired_ns(samples, 2_000 * scale, empty_call, minimal_call);
    let (quiet_vm, quiet_noop) = deployed_on(Vm::builder().monitoring(None), EMPTY_CONTRACT, &[]);
    let (empty_quiet, minimal_again, quiet_ratio) = paired_ns(
        samples,
        2_000 * scale,
        || {
            std::hint::black_box(quiet_vm.call(&quiet_noop, "noop", &CHAIN, &tx).unwrap());
        },
        minimal_call,
    );
    rows.push(Row {
        name: "empty call vs minimal wasmtime".into(),
        what: format!("{} vs {}", human_ns(empty), human_ns(minimal)),
        value: empty_ratio,
        unit: "x",
        target: "≤ 1.2x",
        met: Some(empty_ratio <= 1.2),
    });
    rows.push(Row {
        name: "  same, monitoring off".into(),
        what: format!("{} vs {}", human_ns(empty_quiet), human_ns(minimal_again)),
        value: quiet_ratio,
        unit: "x",
        target: "≤ 1.2x",
        met: Some(quiet_ratio <= 1.2),
    });

    // 2. A token transfer against the empty call; monitoring's cost.
    let (vm, token) = deployed_on(Vm::builder(), TOKEN, &u64::MAX.to_le_bytes());
    let transfer = Transaction::new(SENDER, 1_000_000, transfer_input(&RECIPIENT, 1));
    let transfer_call = || {
        std::hint::black_box(vm.call(&token, "transfer", &CHAIN, &transfer).unwrap());
    };
    let (transfer_ns, empty_again, transfer_ratio) =
        paired_ns(samples, 500 * scale, transfer_call, empty_call);
    let (quiet_vm, quiet_token) = deployed_on(Vm::builder().monitoring(None), TOKEN, &u64::MAX.to_le_bytes());
    let (transfer_on, transfer_quiet, monitoring_ratio) =
        paired_ns(samples, 500 * scale, transfer_call, || {
            std::hint::black_box(quiet_vm.call(&quiet_token, "transfer", &CHAIN, &transfer).unwrap());
        });
    rows.push(Row {
        name: "token transfer vs empty call".into(),
        what: format!("{} vs {}", human_ns(transfer_ns), human_ns(empty_again)),
        value: transfer_ratio,
        unit: "x",
        target: "≤ 2x",
        met: Some(transfer_ratio <= 2.0),
    });
    rows.push(Row {
        name: "monitoring on vs off (transfer)".into(),
        what: format!("{} vs {}", human_ns(transfer_on), human_ns(transfer_quiet)),
        value: monitoring_ratio,
        unit: "x",
        target: "≤ 1.05x",
        met: Some(monitoring_ratio <= 1.05),
    });

    // The monitor's share: one record's aggregation, alone.
    let monitor = xwasm::monitor::Monitor::default();
    let record = std::sync::Arc::new(xwasm::monitor::CallRecord {
        unix_ms: 1,
        kind: "call".into(),
        contract: "ab".repeat(32),
        method: "transfer".into(),
        status: "ok".into(),
        gas_used: 4_700,
        gas_limit: 1_000_000,
        host_gas: 4_500,
        instantiate_ns: 900,
        execute_ns: 2_000,
        commit_ns: 300,
        total_ns: 4_000,
        peak_memory_pages: 1,
        cache_tier: "memory".into(),
        compile_ns: None,
        load_ns: 0,
        code_hash: "cd".repeat(32),
        artifact_bytes: 4_096,
        host_calls: ["input_len", "input_read", "caller", "storage_read", "storage_write", "emit_event"]
            .iter()
            .map(|n| xwasm::monitor::HostCallRecord { name: (*n).into(), calls: 1, gas: 100, nanos: 50 })
            .collect(),
    });
    let aggregate = median_ns(samples, 5_000 * scale, || {
        use xwasm::monitor::Observer;
        monitor.record(&record);
    });
    let no_history = xwasm::monitor::MonitorConfig { history_capacity: 0, ..Default::default() };
    let (h_vm, h_token) =
        deployed_on(Vm::builder().monitoring(Some(no_history)), TOKEN, &u64::MAX.to_le_bytes());
    let (transfer_no_history, _, no_history_ratio) = paired_ns(
        samples,
        500 * scale,
        || {
            std::hint::black_box(h_vm.call(&h_token, "transfer", &CHAIN, &transfer).unwrap());
        },
        || {
            std::hint::black_box(quiet_vm.call(&quiet_token, "transfer", &CHAIN, &transfer).unwrap());
        },
    );
    rows.push(Row {
        name: "  transfer, monitor without history".into(),
        what: human_ns(transfer_no_history),
        value: no_history_ratio,
        unit: "x",
        target: "-",
        met: None,
    });
    rows.push(Row {
        name: "  monitor: aggregating one record".into(),
        what: human_ns(aggregate),
        value: aggregate / transfer_quiet,
        unit: "of a transfer",
        target: "(part of the 5%)",
        met: None,
    });
}
