//! Size passes over a module, for contract authors (`xwasm optimize`):
//! each named, switchable, and checked to leave a valid module whose
//! behaviour through its exports is unchanged.
//!
//! - `strip-custom`: drops custom sections, but those a VM reads
//!   (`cw_migrate_version`, which cosmwasm-vm passes to `migrate`) and
//!   `name` (backtraces and profiles use it);
//! - `strip-names`: drops the `name` section too;
//! - `dead-code`: a function no export, start function, table element,
//!   global or other live function can reach keeps its index and type, but
//!   its body becomes `unreachable` (nothing can call it, so nothing
//!   changes);
//! - `zero-data`: drops active data segments of zero bytes at constant
//!   offsets into a memory the module defines (memory starts zeroed), when
//!   no earlier segment writes the same bytes.
//!
//! No pass renumbers anything: exports, element segments and the
//! contract's own indices stay as they were.

use std::collections::BTreeSet;
use wasm_encoder::reencode::{self, Reencode};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

/// The passes, in the order they run.
pub const PASSES: [&str; 4] = ["strip-custom", "strip-names", "dead-code", "zero-data"];

/// The passes `xwasm optimize` runs unless told otherwise.
pub const DEFAULT_PASSES: [&str; 3] = ["strip-custom", "dead-code", "zero-data"];

/// Custom sections a VM reads: never stripped.
const KEPT_CUSTOM: [&str; 1] = ["cw_migrate_version"];

/// What a run of the passes did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Optimized {
    pub bytes: Vec<u8>,
    /// Custom sections dropped, by name.
    pub custom_sections_dropped: Vec<String>,
    /// Functions whose body was replaced.
    pub dead_functions: u32,
    /// Data segments dropped, and their bytes.
    pub data_segments_dropped: u32,
    pub data_bytes_dropped: u64,
}

/// Why the passes could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptimizeError {
    #[error("unknown pass `{0}` (the passes: strip-custom, strip-names, dead-code, zero-data)")]
    UnknownPass(String),
    #[error("the module is not valid WebAssembly: {0}")]
    Invalid(String),
    #[error("the optimized module is invalid (a bug in a pass): {0}")]
    Broken(String),
}

/// Runs `passes` over `wasm` (valid under `features`).
pub fn optimize(wasm: &[u8], passes: &[&str], features: WasmFeatures) -> Result<Optimized, OptimizeError> {
    if let Some(unknown) = passes.iter().find(|p| !PASSES.contains(p)) {
        return Err(OptimizeError::UnknownPass((*unknown).to_owned()));
    }
    Validator::new_with_features(features)
        .validate_all(wasm)
        .map_err(|e| OptimizeError::Invalid(e.to_string()))?;
    let analysis = analyze(wasm).map_err(|e| OptimizeError::Invalid(e.to_string()))?;
    let on = |name: &str| passes.contains(&name);
    let mut pass = Passes {
        strip_custom: on("strip-custom"),
        strip_names: on("strip-names"),
        dead: if on("dead-code") { analysis.dead } else { BTreeSet::new() },
        dropped_data: if on("zero-data") { analysis.unobservable_data } else { BTreeSet::new() },
        imported_functions: analysis.imported_functions,
        next_function: 0,
        next_data: 0,
        report: Optimized {
            bytes: Vec::new(),
            custom_sections_dropped: Vec::new(),
            dead_functions: 0,
            data_segments_dropped: 0,
            data_bytes_dropped: 0,
        },
    };
    let mut module = wasm_encoder::Module::new();
    pass.parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| OptimizeError::Broken(e.to_string()))?;
    let bytes = module.finish();
    Validator::new_with_features(features)
        .validate_all(&bytes)
        .map_err(|e| OptimizeError::Broken(e.to_string()))?;
    pass.report.bytes = bytes;
    Ok(pass.report)
}

/// A data segment: its index, where it lands (offset and length, when
/// active at a constant offset in memory 0), and whether it is all zeros.
struct Segment {
    index: u32,
    placed: Option<(u32, u64)>,
    zero: bool,
}

struct Analysis {
    imported_functions: u32,
    /// Indices (in the function index space) of dead defined functions.
    dead: BTreeSet<u32>,
    /// Indices of data segments that can be dropped.
    unobservable_data: BTreeSet<u32>,
}

fn analyze(wasm: &[u8]) -> Result<Analysis, wasmparser::BinaryReaderError> {
    let mut imported_functions = 0u32;
    let mut memory_imported = false;
    let mut roots: Vec<u32> = Vec::new();
    let mut calls: Vec<Vec<u32>> = Vec::new();
    let mut data: Vec<Segment> = Vec::new();
    let mut passive_data_used = false;
    let scan_expr = |expr: &wasmparser::ConstExpr<'_>,
                     roots: &mut Vec<u32>|
     -> Result<(), wasmparser::BinaryReaderError> {
        for op in expr.get_operators_reader() {
            if let Operator::RefFunc { function_index } = op? {
                roots.push(function_index);
            }
        }
        Ok(())
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    match import?.ty {
                        wasmparser::TypeRef::Func(_) => imported_functions += 1,
                        wasmparser::TypeRef::Memory(_) => memory_imported = true,
                        _ => {}
                    }
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export?;
                    if export.kind == wasmparser::ExternalKind::Func {
                        roots.push(export.index);
                    }
                }
            }
            Payload::StartSection { func, .. } => roots.push(func),
            Payload::GlobalSection(section) => {
                for global in section {
                    scan_expr(&global?.init_expr, &mut roots)?;
                }
            }
            Payload::ElementSection(section) => {
                for element in section {
                    match element?.items {
                        wasmparser::ElementItems::Functions(functions) => {
                            for function in functions {
                                roots.push(function?);
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, exprs) => {
                            for expr in exprs {
                                scan_expr(&expr?, &mut roots)?;
                            }
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut callees = Vec::new();
                for op in body.get_operators_reader()? {
                    match op? {
                        Operator::Call { function_index }
                        | Operator::ReturnCall { function_index }
                        | Operator::RefFunc { function_index } => callees.push(function_index),
                        Operator::MemoryInit { .. } | Operator::DataDrop { .. } => passive_data_used = true,
                        _ => {}
                    }
                }
                calls.push(callees);
            }
            Payload::DataSection(section) => {
                for (index, segment) in section.into_iter().enumerate() {
                    let segment = segment?;
                    let zero = segment.data.iter().all(|&b| b == 0);
                    let placed = match segment.kind {
                        wasmparser::DataKind::Active { memory_index: 0, offset_expr } => {
                            let mut ops = offset_expr.get_operators_reader();
                            match (ops.read()?, ops.read()?) {
                                (Operator::I32Const { value }, Operator::End) => {
                                    Some((value as u32, segment.data.len() as u64))
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    data.push(Segment { index: index as u32, placed, zero });
                }
            }
            _ => {}
        }
    }
    // Live functions: everything reachable from the roots.
    let mut live = BTreeSet::new();
    while let Some(function) = roots.pop() {
        if live.insert(function)
            && let Some(callees) =
                function.checked_sub(imported_functions).and_then(|i| calls.get(i as usize))
        {
            roots.extend(callees.iter().copied());
        }
    }
    let dead =
        (imported_functions..imported_functions + calls.len() as u32).filter(|f| !live.contains(f)).collect();
    // A zero segment is unobservable when memory starts zeroed (defined
    // here, not imported), no passive-data instruction exists (indices
    // stay meaningful), and no earlier segment writes its bytes.
    let mut unobservable_data = BTreeSet::new();
    if !memory_imported && !passive_data_used {
        let mut written: Vec<(u64, u64)> = Vec::new();
        for Segment { index, placed, zero } in &data {
            let Some((offset, len)) = placed else {
                written.push((0, u64::MAX));
                continue;
            };
            let (start, end) = (u64::from(*offset), u64::from(*offset) + len);
            if *zero && written.iter().all(|&(s, e)| end <= s || e <= start) {
                unobservable_data.insert(*index);
            } else {
                written.push((start, end));
            }
        }
    }
    Ok(Analysis { imported_functions, dead, unobservable_data })
}

struct Passes {
    strip_custom: bool,
    strip_names: bool,
    dead: BTreeSet<u32>,
    dropped_data: BTreeSet<u32>,
    imported_functions: u32,
    next_function: u32,
    next_data: u32,
    report: Optimized,
}

impl Reencode for Passes {
    type Error = std::convert::Infallible;

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let name = section.name();
        let drop =
            if name == "name" { self.strip_names } else { self.strip_custom && !KEPT_CUSTOM.contains(&name) };
        if drop {
            self.report.custom_sections_dropped.push(name.to_owned());
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.imported_functions + self.next_function;
        self.next_function += 1;
        if self.dead.contains(&index) {
            self.report.dead_functions += 1;
            let mut body = wasm_encoder::Function::new([]);
            body.instruction(&wasm_encoder::Instruction::Unreachable)
                .instruction(&wasm_encoder::Instruction::End);
            code.function(&body);
            return Ok(());
        }
        reencode::utils::parse_function_body(self, code, func)
    }

    fn data_count(&mut self, count: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(count - self.dropped_data.len() as u32)
    }

    fn parse_data(
        &mut self,
        data: &mut wasm_encoder::DataSection,
        segment: wasmparser::Data<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.next_data;
        self.next_data += 1;
        if self.dropped_data.contains(&index) {
            self.report.data_segments_dropped += 1;
            self.report.data_bytes_dropped += segment.data.len() as u64;
            return Ok(());
        }
        reencode::utils::parse_data(self, data, segment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features() -> WasmFeatures {
        WasmFeatures::WASM2
    }

    #[test]
    fn dead_functions_lose_their_bodies_and_live_ones_keep_them() {
        let wasm = wat::parse_str(
            r#"(module
              (memory 1)
              (func $live (export "run") (result i32) (call $helper))
              (func $helper (result i32) (i32.const 7))
              (func $dead (result i32) (i32.add (i32.const 1) (i32.const 2)))
              (table 1 funcref) (elem (i32.const 0) $in_table)
              (func $in_table)
              (data (i32.const 100) "\00\00\00\00")
              (data (i32.const 0) "hi")
              (@custom "producers" "x")
              (@custom "cw_migrate_version" "42"))"#,
        )
        .unwrap();
        let out = optimize(&wasm, &DEFAULT_PASSES, features()).unwrap();
        assert_eq!(out.dead_functions, 1);
        assert_eq!((out.data_segments_dropped, out.data_bytes_dropped), (1, 4));
        assert_eq!(out.custom_sections_dropped, vec!["producers".to_owned()]);
        assert!(out.bytes.len() < wasm.len());
        let kept = Parser::new(0).parse_all(&out.bytes).any(|p| {
            matches!(p, Ok(Payload::CustomSection(c)) if c.name() == "cw_migrate_version" && c.data() == b"42")
        });
        assert!(kept, "the section cosmwasm-vm reads survives");
    }

    #[test]
    fn a_zero_segment_over_earlier_bytes_stays() {
        let wasm =
            wat::parse_str(r#"(module (memory 1) (data (i32.const 0) "ab") (data (i32.const 1) "\00"))"#)
                .unwrap();
        let out = optimize(&wasm, &["zero-data"], features()).unwrap();
        assert_eq!(out.data_segments_dropped, 0);
        assert_eq!(
            optimize(&wasm, &["fold"], features()).unwrap_err(),
            OptimizeError::UnknownPass("fold".into())
        );
    }
}
