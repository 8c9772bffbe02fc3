//! The side-by-side performance report: every comparison of the
//! performance targets, measured in one process so the machine's noise
//! cancels, printed as a markdown table and written as JSON
//! (`target/xwasm-report.json`).
//!
//! `cargo run --release -p xwasm-benches --bin report [-- --quick]`
//!
//! Each section of the report is a module: `overhead` (framework
//! overhead and monitoring), `compute` (metering and wasmi), `loading`
//! (the cache tiers and batch precompilation), `compilers` (Winch,
//! Cranelift and tiered compilation), `throughput`, `memory`,
//! `compile_price` (compile time per gas paid), `block` (Block-STM) and
//! `pipeline` (the optimization passes); `measure` times them.

mod block;
mod compile_price;
mod compilers;
mod compute;
mod loading;
mod measure;
mod memory;
mod overhead;
mod pipeline;
mod throughput;

use xwasm::Vm;
use xwasm_benches::{EMPTY_CONTRACT, MIX, MinimalEmbedding};

/// One line of the table: a comparison, what was measured, and whether
/// it met its target.
struct Row {
    name: std::borrow::Cow<'static, str>,
    what: String,
    value: f64,
    unit: &'static str,
    target: &'static str,
    met: Option<bool>,
}

/// How much each section measures, and on how many cores.
#[derive(Clone, Copy)]
struct Settings {
    /// `--quick`: fewer samples.
    quick: bool,
    samples: usize,
    /// Multiplies the batch sizes.
    scale: usize,
    cores: usize,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (samples, scale) = if quick { (15, 1) } else { (41, 4) };
    let mut rows = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let settings = Settings { quick, samples, scale, cores };

    // `--only SECTION` (overhead, compute, loading, compilers, throughput,
    // memory, compile_price, block): that section alone.
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--only").and_then(|at| args.get(at + 1));
    let wants = |section: &str| only.is_none_or(|only| only == section);
    let baseline = MinimalEmbedding::new(EMPTY_CONTRACT);
    let metered_vm = Vm::builder().profile(xwasm::security::Profile::Permissive).build().unwrap();
    if wants("overhead") {
        overhead::measure(settings, &baseline, &mut rows);
    }
    if wants("compute") {
        compute::measure(&metered_vm, &mut rows);
    }
    if wants("loading") {
        loading::measure(settings, &mut rows);
    }
    if wants("compilers") {
        compilers::measure(&metered_vm, &mut rows);
    }
    if wants("throughput") {
        throughput::measure(settings, &baseline, &mut rows);
    }
    if wants("memory") {
        memory::measure(&mut rows);
    }
    if wants("compile_price") {
        compile_price::measure(quick, &mut rows);
    }
    if wants("block") {
        block::measure(settings, &mut rows);
    }
    print_table(&rows, quick);
    if only.is_some() {
        return;
    }
    let pipeline = pipeline::optimization_pipeline(quick, &wat::parse_str(MIX).unwrap(), 20_000);
    let json: Vec<_> = rows
        .iter()
        .map(|r| serde_json::json!({"name": r.name.trim(), "measured": r.what, "value": r.value, "unit": r.unit, "target": r.target, "met": r.met}))
        .collect();
    let out = format!("{}/../target/xwasm-report.json", env!("CARGO_MANIFEST_DIR"));
    let report = serde_json::json!({"quick": quick, "cores": cores, "rows": json, "pipeline": pipeline});
    if std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).is_ok() {
        println!("\nwritten to {out}");
    }
}

fn print_table(rows: &[Row], quick: bool) {
    println!("| comparison | measured | ratio | target | met |");
    println!("|---|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        println!("| {} | {} | {:.2} {} | {} | {} |", r.name.trim(), r.what, r.value, r.unit, r.target, met);
    }
    if quick {
        println!("\n(--quick: fewer samples)");
    }
}
