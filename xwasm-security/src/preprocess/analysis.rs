//! The analysis pass: what the rewrite must know of a module before it
//! writes it (each function's frame cost and result type, which functions
//! claim stack units, whether any uses a bulk instruction), read while it
//! validates every function body, with what the policy's description
//! needs of the bodies, so that a deployment reads each operator once
//! before the rewrite.

use rayon::prelude::*;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{BlockType, ValType};
use wasmparser::{FuncValidatorAllocations, Operator, Parser, Payload, Validator, WasmFeatures};

use super::bulk::is_bulk;
use super::{PreprocessError, RESERVED_NAMES};
use crate::frames::{self, CallGraph};
use crate::info::BodyShape;

/// What the analysis pass learns of a valid module: what its rewrite
/// needs ([`crate::ModulePolicy::preprocess_analyzed`]) and what its
/// description needs of its bodies ([`crate::ModulePolicy::check_analyzed`]).
pub struct Analysis {
    /// Per defined function: the block type of its results.
    pub(super) frames: Vec<BlockType>,
    /// Per defined function: the stack units it claims on entry, or `None`
    /// when its callers claim for it (`frames.rs`).
    pub(super) claims: Vec<Option<u64>>,
    pub(super) type_count: u32,
    pub(super) global_count: u32,
    /// Functions imported by the module itself.
    pub(super) imported_functions: u32,
    /// Function types `() -> results` to append, for multi-value bodies.
    pub(super) extra_types: Vec<Vec<ValType>>,
    /// Some function uses a bulk instruction: `charge_bulk` is imported.
    pub(super) bulk: bool,
    /// An export the rewrite's own names would collide with.
    pub(super) reserved_export: Option<String>,
    /// The bodies' deepest nesting, largest `br_table` and floats.
    pub(crate) shape: BodyShape,
}

/// Why a module could not be analyzed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AnalysisError {
    /// It is not valid under the features it was read with.
    #[error("{0}")]
    Invalid(wasmparser::BinaryReaderError),
    /// A construct the rewrite does not support.
    #[error("{0}")]
    Unsupported(String),
}

impl From<AnalysisError> for PreprocessError {
    fn from(error: AnalysisError) -> Self {
        PreprocessError(error.to_string())
    }
}

fn slots(ty: wasmparser::ValType) -> u32 {
    if ty == wasmparser::ValType::V128 { 2 } else { 1 }
}

/// Validates `wasm` under `features` (its function bodies last, on every
/// core; the first invalid one in the module's order is the error) and
/// analyzes it.
pub fn analyze(wasm: &[u8], features: WasmFeatures) -> Result<Analysis, AnalysisError> {
    let err = AnalysisError::Invalid;
    let unsupported = |message: &str| AnalysisError::Unsupported(message.to_owned());
    let mut validator = Validator::new_with_features(features);
    let mut types: Vec<Option<(u32, Vec<wasmparser::ValType>)>> = Vec::new();
    let mut defined_types: Vec<u32> = Vec::new();
    let mut analysis = Analysis {
        frames: Vec::new(),
        claims: Vec::new(),
        type_count: 0,
        global_count: 0,
        imported_functions: 0,
        extra_types: Vec::new(),
        bulk: false,
        reserved_export: None,
        shape: BodyShape::default(),
    };
    let mut bodies = Vec::new();
    let mut graph = CallGraph::new(0);
    // As `Validator::validate_all` reads a module: the parser under the
    // same features (some encodings are refused as they are read).
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(wasm) {
        let payload = payload.map_err(err)?;
        // Validated before it is read: the validator's error comes first.
        let valid = validator.payload(&payload).map_err(err)?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(err)?.into_types() {
                        types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                let params = f.params().iter().map(|t| slots(*t)).sum();
                                Some((params, f.results().to_vec()))
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    match import.map_err(err)?.ty {
                        wasmparser::TypeRef::Global(_) => analysis.global_count += 1,
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => {
                            analysis.imported_functions += 1
                        }
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    defined_types.push(ty.map_err(err)?);
                }
                graph = CallGraph::new(defined_types.len());
            }
            Payload::TableSection(reader) => {
                for table in reader.clone() {
                    if let wasmparser::TableInit::Expr(init) = &table.map_err(err)?.init {
                        taken_in(init, &mut graph, analysis.imported_functions)?;
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                analysis.global_count += reader.count();
                for global in reader.clone() {
                    taken_in(&global.map_err(err)?.init_expr, &mut graph, analysis.imported_functions)?;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(err)?;
                    if RESERVED_NAMES.contains(&export.name) {
                        analysis.reserved_export.get_or_insert_with(|| export.name.to_owned());
                    }
                    if export.kind == wasmparser::ExternalKind::Func {
                        CallGraph::mark(&mut graph.entry, defined(export.index, analysis.imported_functions));
                    }
                }
            }
            Payload::StartSection { func, .. } => {
                CallGraph::mark(&mut graph.entry, defined(*func, analysis.imported_functions));
            }
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    match element.map_err(err)?.items {
                        wasmparser::ElementItems::Functions(functions) => {
                            for function in functions {
                                let function = defined(function.map_err(err)?, analysis.imported_functions);
                                CallGraph::mark(&mut graph.address_taken, function);
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, expressions) => {
                            for expression in expressions {
                                taken_in(&expression.map_err(err)?, &mut graph, analysis.imported_functions)?;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if let wasmparser::ValidPayload::Func(func, body) = valid {
            let index = analysis.frames.len();
            let ty = *defined_types.get(index).ok_or_else(|| unsupported("function without a type"))?;
            let (params, results) = types
                .get(ty as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| unsupported("not a function type"))?;
            let val_type = |t: &wasmparser::ValType| {
                RoundtripReencoder.val_type(*t).map_err(|e| AnalysisError::Unsupported(e.to_string()))
            };
            let block = match results.as_slice() {
                [] => BlockType::Empty,
                [one] => BlockType::Result(val_type(one)?),
                many => {
                    let many: Vec<ValType> = many.iter().map(val_type).collect::<Result<_, _>>()?;
                    let position = match analysis.extra_types.iter().position(|t| *t == many) {
                        Some(position) => position,
                        None => {
                            analysis.extra_types.push(many);
                            analysis.extra_types.len() - 1
                        }
                    };
                    // Resolved to a type index once the type count is known.
                    BlockType::FunctionType(position as u32)
                }
            };
            analysis.frames.push(block);
            bodies.push((func, body, params));
        }
    }
    // The bodies, each validated and read on its own, on every core; the
    // first error in the module's order is the one reported.
    let imported = analysis.imported_functions;
    let read: Vec<Result<Body, AnalysisError>> = bodies
        .into_par_iter()
        .map_init(FuncValidatorAllocations::default, |allocations, (func, body, params)| {
            read_body(func, &body, params, imported, features, allocations).map_err(AnalysisError::Invalid)
        })
        .collect();
    let mut costs = Vec::with_capacity(read.len());
    for (index, body) in read.into_iter().enumerate() {
        let body = body?;
        costs.push(body.cost);
        analysis.bulk |= body.bulk;
        analysis.shape.merge(&body.shape);
        graph.callees[index] = body.callees;
        graph.indirect[index] = body.indirect;
        for taken in body.taken {
            CallGraph::mark(&mut graph.address_taken, Some(taken));
        }
    }
    analysis.type_count = types.len() as u32;
    analysis.claims = frames::claims(&costs, &graph);
    Ok(analysis)
}

/// What the analysis learns from one function body.
struct Body {
    /// Its frame cost.
    cost: u32,
    bulk: bool,
    /// The defined functions it calls directly.
    callees: Vec<u32>,
    indirect: bool,
    /// The defined functions it takes by `ref.func`.
    taken: Vec<usize>,
    shape: BodyShape,
}

/// Validates and reads one function body (its parameters taking `params`
/// slots) under `features`, as wasmparser's `FuncValidator::validate`
/// does (the same errors), reusing the validator's `allocations`.
fn read_body(
    func: wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
    body: &wasmparser::FunctionBody<'_>,
    params: u32,
    imported: u32,
    features: WasmFeatures,
    allocations: &mut FuncValidatorAllocations,
) -> Result<Body, wasmparser::BinaryReaderError> {
    let mut validator = func.into_validator(std::mem::take(allocations));
    let mut reader = body.get_binary_reader();
    validator.read_locals(&mut reader)?;
    let mut locals = 0u32;
    for local in body.get_locals_reader()? {
        let (count, ty) = local?;
        locals = locals.saturating_add(count.saturating_mul(slots(ty)));
    }
    reader.set_features(features);
    let mut read = Body {
        cost: 0,
        bulk: false,
        callees: Vec::new(),
        indirect: false,
        taken: Vec::new(),
        shape: BodyShape::default(),
    };
    let mut max_height = 0;
    let mut depth = 0u64;
    let mut operators = wasmparser::OperatorsReader::new(reader);
    while !operators.eof() {
        let offset = operators.original_position();
        let op = operators.read()?;
        validator.op(offset, &op)?;
        max_height = max_height.max(validator.operand_stack_height());
        read.bulk |= is_bulk(&op);
        read.shape.read(&op, &mut depth);
        match op {
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                if let Some(callee) = defined(function_index, imported) {
                    read.callees.push(callee as u32);
                }
            }
            Operator::CallIndirect { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. } => read.indirect = true,
            Operator::RefFunc { function_index } => read.taken.extend(defined(function_index, imported)),
            _ => {}
        }
    }
    operators.finish()?;
    read.cost =
        4u32.saturating_add(params).saturating_add(locals).saturating_add(max_height.saturating_mul(2));
    *allocations = validator.into_allocations();
    Ok(read)
}

/// The defined function a function index names, if it is not an import.
fn defined(index: u32, imported: u32) -> Option<usize> {
    index.checked_sub(imported).map(|i| i as usize)
}

/// Marks the functions a constant expression takes by `ref.func`.
fn taken_in(
    expression: &wasmparser::ConstExpr<'_>,
    graph: &mut CallGraph,
    imported: u32,
) -> Result<(), AnalysisError> {
    for op in expression.get_operators_reader() {
        if let Operator::RefFunc { function_index } = op.map_err(AnalysisError::Invalid)? {
            CallGraph::mark(&mut graph.address_taken, defined(function_index, imported));
        }
    }
    Ok(())
}
