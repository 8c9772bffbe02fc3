//! Load-time preprocessing: the rewrite every module goes through before it
//! is compiled, so that two consensus-relevant quantities do not depend on
//! the compiler.
//!
//! 1. **A deterministic call-stack limit.** The native stack is not
//!    deterministic (the deepest recursion that succeeds differs between
//!    Cranelift, Cranelift with fuel and Winch). Each defined function has
//!    a frame cost, `4 + its parameter and local slots + its maximum operand
//!    stack height` (a `v128` counts twice). The functions that may be
//!    entered other than by a direct call from a function of the module, or
//!    that are in a cycle of its call graph, claim units on entry in a
//!    mutable global and release them on exit: their own frame plus the
//!    deepest chain of the other functions they call directly, which claim
//!    nothing (`frames.rs`). Past [`StackLimit::max_units`]
//!    the claiming function sets the global to [`STACK_EXHAUSTED_MARK`] and
//!    traps (`unreachable`), so the executor can tell this trap from
//!    others. Its body is wrapped in a block and `return` becomes a branch
//!    to it, so every exit passes the epilogue. The global is read and set
//!    through one exported function, [`STACK_EXPORT`], so that a
//!    nested contract call continues its caller's count.
//! 2. **Bulk-memory gas under every strategy.** Before each `memory.copy`,
//!    `memory.fill`, `memory.init`, `table.copy`, `table.fill`, `table.init`
//!    and `table.grow`, the byte or element count (always on top of the
//!    stack) passes through the import `xwasm_internal::charge_bulk`
//!    (`(i32) -> i32`), which charges it as gas and returns it. The engine's
//!    own per-byte costs are set to zero, so Cranelift and Winch charge the
//!    same.
//!
//! A module with no bulk instruction gets no import (every import costs
//! each instantiation, that is each call). With one, `charge_bulk` comes
//! first, so every function index shifts by one ([`added_imports`]).
//! Consensus-relevant: the rewrite is part of the gas schedule; a change is
//! a new [`PREPROCESS_VERSION`].

use wasm_encoder::reencode::{self, Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, ConstExpr, Encode, EntityType, ExportKind, GlobalType, Instruction, SectionId, ValType,
};
use wasmparser::{FuncValidatorAllocations, Operator, Parser, Payload, Validator, WasmFeatures};

use crate::frames::{self, CallGraph};

/// Bumped whenever the rewrite changes (it changes gas).
pub const PREPROCESS_VERSION: u32 = 4;
/// The namespace of the imports the rewrite adds.
pub const INTERNAL_NAMESPACE: &str = "xwasm_internal";
pub const CHARGE_BULK: &str = "charge_bulk";
/// The exported function `(i32) -> i32` that returns the stack units in
/// use and, given a count that is not negative, sets them to it (a nested
/// call starts at its caller's count). The global holding them is not
/// exported: wasmtime lets the compiler keep a global that only the module
/// sees in its own alias class, while all exported globals share one, so
/// a store to one reloads the others (exporting the gas and the stack
/// globals cost fib 1.39x of unmetered code; the gas global alone, 1.1x).
/// One function, not a getter and a setter: each exported function costs
/// every compile a trampoline.
pub const STACK_EXPORT: &str = "__xwasm_stack";
/// The exported global holding the gas left (`i64`): the executor sets it
/// to the call's limit, every basic block takes its cost from it, host
/// functions charge it.
pub const GAS_GLOBAL: &str = "__xwasm_gas";
/// The gas global's initial value: what a start function (permissive
/// profile only) may use during instantiation; the executor takes what it
/// used from the call's gas.
pub const GAS_AT_INSTANTIATION: i64 = 10_000_000;
/// The names the rewrite exports: a module may not export them itself
/// (the policy refuses it), and no call may enter them.
pub const RESERVED_NAMES: [&str; 2] = [GAS_GLOBAL, STACK_EXPORT];
/// What the stack global holds after the deterministic stack limit ended
/// the call (no real count comes near it).
pub const STACK_EXHAUSTED_MARK: i32 = -1;

/// The deterministic stack limit. Consensus-relevant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StackLimit {
    /// Units (8-byte slots, roughly) all active frames may use together.
    pub max_units: u32,
}

impl StackLimit {
    /// The largest limit the rewrite supports: the count plus one claim
    /// (at most the limit plus one) stays below 2^31, so the unsigned
    /// comparison never wraps and no count reaches the exhausted mark.
    pub const MAX_UNITS: u32 = 1 << 30;
}

impl Default for StackLimit {
    /// 32,768 units: a recursion of more than 2,000 frames of a typical
    /// function (cost 10-15) fits, and at 16 bytes a unit the native
    /// stack this takes stays under half of the engine's 1 MiB.
    fn default() -> Self {
        Self { max_units: 32_768 }
    }
}

/// Why a module could not be rewritten (it was valid, so this is a bug or a
/// construct the rewrite does not support).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("preprocessing failed: {0}")]
pub struct PreprocessError(pub String);

/// What the analysis pass learns.
struct Analysis {
    /// Per defined function: the block type of its results.
    frames: Vec<BlockType>,
    /// Per defined function: the stack units it claims on entry, or `None`
    /// when its callers claim for it (`frames.rs`).
    claims: Vec<Option<u64>>,
    type_count: u32,
    global_count: u32,
    /// Functions imported by the module itself.
    imported_functions: u32,
    /// Function types `() -> results` to append, for multi-value bodies.
    extra_types: Vec<Vec<ValType>>,
    /// Some function uses a bulk instruction: `charge_bulk` is imported.
    bulk: bool,
}

fn slots(ty: wasmparser::ValType) -> u32 {
    if ty == wasmparser::ValType::V128 { 2 } else { 1 }
}

fn analyze(wasm: &[u8], features: WasmFeatures) -> Result<Analysis, PreprocessError> {
    let err = |e: wasmparser::BinaryReaderError| PreprocessError(e.to_string());
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
    };
    let mut costs = Vec::new();
    let mut graph = CallGraph::new(0);
    let mut allocations = FuncValidatorAllocations::default();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(err)?;
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
                        return Err(PreprocessError(format!(
                            "the export name `{}` is reserved for the rewrite",
                            export.name
                        )));
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
        if let wasmparser::ValidPayload::Func(func, body) = validator.payload(&payload).map_err(err)? {
            let index = analysis.frames.len();
            let ty =
                *defined_types.get(index).ok_or_else(|| PreprocessError("function without a type".into()))?;
            let (params, results) = types
                .get(ty as usize)
                .cloned()
                .flatten()
                .ok_or_else(|| PreprocessError("not a function type".into()))?;
            let mut validator = func.into_validator(std::mem::take(&mut allocations));
            let mut locals = 0u32;
            for local in body.get_locals_reader().map_err(err)? {
                let (count, ty) = local.map_err(err)?;
                locals = locals.saturating_add(count.saturating_mul(slots(ty)));
            }
            let mut reader = body.get_binary_reader();
            validator.read_locals(&mut reader).map_err(err)?;
            let mut max_height = 0;
            let mut operators = body.get_operators_reader().map_err(err)?;
            while !operators.eof() {
                let offset = operators.original_position();
                let op = operators.read().map_err(err)?;
                validator.op(offset, &op).map_err(err)?;
                max_height = max_height.max(validator.operand_stack_height());
                analysis.bulk |= is_bulk(&op);
                let imported = analysis.imported_functions;
                match op {
                    Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                        if let Some(callee) = defined(function_index, imported) {
                            graph.callees[index].push(callee as u32);
                        }
                    }
                    Operator::CallIndirect { .. }
                    | Operator::ReturnCallIndirect { .. }
                    | Operator::CallRef { .. }
                    | Operator::ReturnCallRef { .. } => graph.indirect[index] = true,
                    Operator::RefFunc { function_index } => {
                        CallGraph::mark(&mut graph.address_taken, defined(function_index, imported));
                    }
                    _ => {}
                }
            }
            let cost = 4u32
                .saturating_add(params)
                .saturating_add(locals)
                .saturating_add(max_height.saturating_mul(2));
            let block = match results.as_slice() {
                [] => BlockType::Empty,
                [one] => BlockType::Result(
                    RoundtripReencoder.val_type(*one).map_err(|e| PreprocessError(e.to_string()))?,
                ),
                many => {
                    let many: Vec<ValType> = many
                        .iter()
                        .map(|t| RoundtripReencoder.val_type(*t))
                        .collect::<Result<_, _>>()
                        .map_err(|e| PreprocessError(e.to_string()))?;
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
            costs.push(cost);
            allocations = validator.into_allocations();
        }
    }
    analysis.type_count = types.len() as u32;
    analysis.claims = frames::claims(&costs, &graph);
    Ok(analysis)
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
) -> Result<(), PreprocessError> {
    for op in expression.get_operators_reader() {
        if let Operator::RefFunc { function_index } = op.map_err(|e| PreprocessError(e.to_string()))? {
            CallGraph::mark(&mut graph.address_taken, defined(function_index, imported));
        }
    }
    Ok(())
}

/// The instructions whose byte or element count `charge_bulk` charges.
fn is_bulk(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::MemoryCopy { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryInit { .. }
            | Operator::TableCopy { .. }
            | Operator::TableFill { .. }
            | Operator::TableInit { .. }
            | Operator::TableGrow { .. }
    )
}

/// How many imports the rewrite added to `module` (a rewritten module):
/// function index `i` of the original module is `i + added_imports` after
/// it.
pub fn added_imports<'a>(mut module_imports: impl Iterator<Item = &'a str>) -> u32 {
    module_imports.any(|namespace| namespace == INTERNAL_NAMESPACE) as u32
}

/// What the rewrite does besides the stack limit and bulk metering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RewriteOptions {
    /// Drop custom sections (debug info, producers, ...) from what is
    /// compiled and cached, keeping only `name` (backtraces and profiles
    /// use it). The stored code keeps them. Not consensus-relevant.
    pub strip_custom_sections: bool,
    /// How gas is counted. Consensus-relevant.
    pub meter: Meter,
}

impl Default for RewriteOptions {
    fn default() -> Self {
        Self { strip_custom_sections: true, meter: Meter::Operators }
    }
}

/// How the rewrite counts gas: the native profile's meter, or
/// cosmwasm-vm's. Both charge the same exported gas global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meter {
    /// One unit per operator as wasmtime's fuel counts them, charged per
    /// basic block before it runs (ABI.md).
    #[default]
    Operators,
    /// cosmwasm-vm 3.0.10's metering (`wasm_backend/metering.rs` with the
    /// cost function of `engine.rs`): [`COSMWASM_OPERATOR_COST`] per
    /// operator and [`COSMWASM_ACCOUNTING_COST`] per accounting operator
    /// (branches, calls, block ends), accumulated and charged right
    /// before each accounting operator, that operator included; a
    /// function declaring [`COSMWASM_LOCALS_THRESHOLD`] locals or more pays
    /// one operator per local past 29 on entry. Out of gas traps before the
    /// charge and leaves the global at -1.
    Cosmwasm,
}

/// cosmwasm-vm's gas per operator.
pub const COSMWASM_OPERATOR_COST: u64 = 115;
/// cosmwasm-vm's gas per accounting operator (14 operators' worth).
pub const COSMWASM_ACCOUNTING_COST: u64 = 115 * 14;
/// Functions with at least this many declared locals pay for those past
/// one fewer on entry (cosmwasm-vm 3.0.9 and later).
pub const COSMWASM_LOCALS_THRESHOLD: u64 = 30;

/// cosmwasm-vm's accounting operators: where its meter charges.
fn is_accounting(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::End
            | Operator::If { .. }
            | Operator::Else
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::BrIf { .. }
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::Return
            | Operator::Throw { .. }
            | Operator::ThrowRef
            | Operator::Rethrow { .. }
            | Operator::Delegate { .. }
            | Operator::Catch { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
    )
}

/// cosmwasm-vm's check and charge of `cost` (its `gas_check_wasm_code`):
/// below `cost` left (unsigned), mark the global and trap; else subtract.
fn accounting_charge(f: &mut wasm_encoder::Function, gas: u32, cost: u64) {
    f.instruction(&Instruction::GlobalGet(gas))
        .instruction(&Instruction::I64Const(cost as i64))
        .instruction(&Instruction::I64LtU)
        .instruction(&Instruction::If(BlockType::Empty))
        .instruction(&Instruction::I64Const(-1))
        .instruction(&Instruction::GlobalSet(gas))
        .instruction(&Instruction::Unreachable)
        .instruction(&Instruction::End)
        .instruction(&Instruction::GlobalGet(gas))
        .instruction(&Instruction::I64Const(cost as i64))
        .instruction(&Instruction::I64Sub)
        .instruction(&Instruction::GlobalSet(gas));
}

/// The rewriting pass.
struct Rewriter<'w> {
    /// The module being rewritten: operators the rewrite keeps as they are
    /// are copied from it byte for byte, not decoded and encoded again.
    wasm: &'w [u8],
    analysis: Analysis,
    limit: StackLimit,
    options: RewriteOptions,
    /// Charge gas per basic block (always, but for [`preprocess_unmetered`]).
    meter: bool,
    next_function: usize,
    types_done: bool,
    imports_done: bool,
    globals_done: bool,
    exports_done: bool,
    functions_done: bool,
    code_done: bool,
    error: Option<String>,
}

/// An operator as the rewrite keeps it.
enum Kept<'a> {
    Encoded(Instruction<'a>),
    /// Its bytes in the module, unchanged.
    Raw(&'a [u8]),
}

/// `func`'s operators, each with its bytes in `wasm` (the module the body
/// was read from).
fn operators<'a>(
    wasm: &'a [u8],
    func: &wasmparser::FunctionBody<'a>,
) -> Result<impl Iterator<Item = Result<(Operator<'a>, &'a [u8]), reencode::Error>>, reencode::Error> {
    let mut reader = func.get_operators_reader()?;
    Ok(std::iter::from_fn(move || {
        if reader.eof() {
            return None;
        }
        let start = reader.original_position();
        Some(reader.read().map(|op| (op, &wasm[start..reader.original_position()])).map_err(Into::into))
    }))
}

/// `charge_bulk`'s function index, when it is imported.
const CHARGE_INDEX: u32 = 0;

impl Rewriter<'_> {
    /// The imports added before the module's own.
    fn imported(&self) -> u32 {
        self.analysis.bulk as u32
    }

    /// `op` (whose bytes in the module are `raw`) as the rewrite keeps it:
    /// encoded anew when it names a function and the rewrite added an
    /// import before the module's functions, else copied. Every other
    /// index (types, globals, tables, memories, labels) keeps its meaning
    /// in the rewritten module.
    fn kept<'a>(&mut self, op: Operator<'a>, raw: &'a [u8]) -> Result<Kept<'a>, reencode::Error> {
        let renumbered = self.imported() > 0
            && matches!(op, Operator::Call { .. } | Operator::ReturnCall { .. } | Operator::RefFunc { .. });
        Ok(if renumbered { Kept::Encoded(self.instruction(op)?) } else { Kept::Raw(raw) })
    }

    fn charge_type(&self) -> u32 {
        self.analysis.type_count
    }

    fn stack_global(&self) -> u32 {
        self.analysis.global_count
    }

    fn add_types(&mut self, types: &mut wasm_encoder::TypeSection) {
        if self.analysis.bulk {
            types.ty().function([ValType::I32], [ValType::I32]);
        }
        for results in &self.analysis.extra_types {
            types.ty().function([], results.iter().copied());
        }
        types.ty().function([ValType::I32], [ValType::I32]);
        self.types_done = true;
    }

    /// The type of [`STACK_EXPORT`].
    fn stack_type(&self) -> u32 {
        self.analysis.type_count + self.imported() + self.analysis.extra_types.len() as u32
    }

    /// The function index of [`STACK_EXPORT`].
    fn stack_function(&self) -> u32 {
        self.analysis.imported_functions + self.imported() + self.analysis.frames.len() as u32
    }

    fn add_functions(&mut self, functions: &mut wasm_encoder::FunctionSection) {
        functions.function(self.stack_type());
        self.functions_done = true;
    }

    fn add_code(&mut self, code: &mut wasm_encoder::CodeSection) {
        let global = self.stack_global();
        let mut stack = wasm_encoder::Function::new([]);
        stack
            .instruction(&Instruction::GlobalGet(global))
            .instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::I32Const(0))
            .instruction(&Instruction::I32GeS)
            .instruction(&Instruction::If(BlockType::Empty))
            .instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::GlobalSet(global))
            .instruction(&Instruction::End)
            .instruction(&Instruction::End);
        code.function(&stack);
        self.code_done = true;
    }

    fn add_imports(&mut self, imports: &mut wasm_encoder::ImportSection) {
        if self.analysis.bulk {
            imports.import(INTERNAL_NAMESPACE, CHARGE_BULK, EntityType::Function(self.charge_type()));
        }
        self.imports_done = true;
    }

    fn gas_global(&self) -> u32 {
        self.analysis.global_count + 1
    }

    fn add_global(&mut self, globals: &mut wasm_encoder::GlobalSection) {
        globals.global(
            GlobalType { val_type: ValType::I32, mutable: true, shared: false },
            &ConstExpr::i32_const(0),
        );
        globals.global(
            GlobalType { val_type: ValType::I64, mutable: true, shared: false },
            &ConstExpr::i64_const(GAS_AT_INSTANTIATION),
        );
        self.globals_done = true;
    }

    fn add_export(&mut self, exports: &mut wasm_encoder::ExportSection) {
        exports.export(GAS_GLOBAL, ExportKind::Global, self.gas_global());
        exports.export(STACK_EXPORT, ExportKind::Func, self.stack_function());
        self.exports_done = true;
    }
}

/// Section order of the binary format (custom sections may go anywhere).
fn rank(id: SectionId) -> Option<u8> {
    Some(match id {
        SectionId::Custom => return None,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    })
}

impl Reencode for Rewriter<'_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(func + self.imported())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        if self.options.strip_custom_sections && section.name() != "name" {
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        self.add_types(types);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        self.add_imports(imports);
        reencode::utils::parse_import_section(self, imports, section)
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        self.add_functions(functions);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_code_section(self, code, section)?;
        self.add_code(code);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_export(exports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let next = match before {
            None => u8::MAX,
            Some(id) => match rank(id) {
                Some(rank) => rank,
                None => return Ok(()),
            },
        };
        // Emit the sections this module lacks, in their place.
        if next > 1 && !self.types_done {
            let mut types = wasm_encoder::TypeSection::new();
            self.add_types(&mut types);
            module.section(&types);
        }
        if next > 2 && !self.imports_done && self.analysis.bulk {
            let mut imports = wasm_encoder::ImportSection::new();
            self.add_imports(&mut imports);
            module.section(&imports);
        }
        if next > 3 && !self.functions_done {
            let mut functions = wasm_encoder::FunctionSection::new();
            self.add_functions(&mut functions);
            module.section(&functions);
        }
        if next > 7 && !self.globals_done {
            let mut globals = wasm_encoder::GlobalSection::new();
            self.add_global(&mut globals);
            module.section(&globals);
        }
        if next > 8 && !self.exports_done {
            let mut exports = wasm_encoder::ExportSection::new();
            self.add_export(&mut exports);
            module.section(&exports);
        }
        if next > 12 && !self.code_done {
            let mut code = wasm_encoder::CodeSection::new();
            self.add_code(&mut code);
            module.section(&code);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let block = self.analysis.frames[self.next_function];
        let claim = self.analysis.claims[self.next_function].map(|units| {
            // Past the limit on any entry: no more is needed to trap, and
            // the sum with the count stays within 32 bits.
            units.min(u64::from(self.limit.max_units) + 1) as u32
        });
        self.next_function += 1;
        let block = match block {
            BlockType::FunctionType(position) => {
                BlockType::FunctionType(self.analysis.type_count + self.imported() + position)
            }
            other => other,
        };
        let global = self.stack_global();
        let mut f = self.new_function_with_parsed_locals(&func)?;
        if self.meter && self.options.meter == Meter::Cosmwasm {
            self.accounting_body(&mut f, &func, claim, block)?;
            code.function(&f);
            return Ok(());
        }
        let mut segment = Segment::new(self.gas_global(), self.meter);
        // The first basic block runs from the function's entry (through
        // the prologue, if it claims) into the body's first instructions
        // (the prologue's branch only traps). It pays for entering the
        // function (1, as with fuel: wasmtime starts each function's count
        // at 1) and in advance for the epilogue, which every return runs
        // once: one charge per call where there would be three.
        const EPILOGUE: u64 = 4;
        segment.cost = 1;
        if let Some(claim) = claim {
            segment.cost += EPILOGUE;
            // Prologue: claim the units, trap past the limit.
            let (claim, trap) = prologue(global, claim, self.limit.max_units, block);
            for instruction in claim {
                segment.push(instruction, 1);
            }
            // The limit's trap: not charged (a trap costs the whole limit).
            for instruction in trap {
                segment.push(instruction, 0);
            }
        }
        let mut depth = 0u32;
        for item in operators(self.wasm, &func)? {
            let (op, raw) = item?;
            let cost = fuel_cost(&op);
            let ends_block = ends_basic_block(&op);
            match &op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => depth += 1,
                Operator::End if depth == 0 => {
                    if let Some(claim) = claim {
                        // The function's own end: close the wrapper,
                        // release the claim.
                        segment.push(Instruction::End, 0);
                        segment.flush(&mut f);
                        // Paid for on entry.
                        for instruction in epilogue(global, claim) {
                            segment.push(instruction, 0);
                        }
                        segment.flush(&mut f);
                        continue;
                    }
                }
                Operator::End | Operator::Delegate { .. } => depth -= 1,
                Operator::Return if claim.is_some() => {
                    // Charged as the `br` it becomes (what fuel charged).
                    segment.push(Instruction::Br(depth), 1);
                    segment.flush(&mut f);
                    continue;
                }
                op if is_bulk(op) => segment.push(Instruction::Call(CHARGE_INDEX), 1),
                Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. } => {
                    self.error.get_or_insert_with(|| "tail calls are not supported".into());
                }
                _ => {}
            }
            match self.kept(op, raw)? {
                Kept::Encoded(instruction) => segment.push(instruction, cost),
                Kept::Raw(bytes) => segment.push_raw(bytes, cost),
            }
            if ends_block {
                segment.flush(&mut f);
            }
        }
        segment.flush(&mut f);
        code.function(&f);
        Ok(())
    }
}

impl Rewriter<'_> {
    /// A function body under [`Meter::Cosmwasm`]: the same stack
    /// prologue and epilogue (uncharged: they are not the contract's
    /// operators), and cosmwasm-vm's charges at the contract's accounting
    /// operators, in the same places in the instruction stream.
    fn accounting_body(
        &mut self,
        f: &mut wasm_encoder::Function,
        func: &wasmparser::FunctionBody<'_>,
        claim: Option<u32>,
        block: BlockType,
    ) -> Result<(), reencode::Error> {
        let (global, gas) = (self.stack_global(), self.gas_global());
        if let Some(claim) = claim {
            let (claim, trap) = prologue(global, claim, self.limit.max_units, block);
            for instruction in claim.iter().chain(&trap) {
                f.instruction(instruction);
            }
        }
        let mut locals = 0u64;
        for local in func.get_locals_reader()? {
            locals += u64::from(local?.0);
        }
        let mut surcharge = locals.saturating_sub(COSMWASM_LOCALS_THRESHOLD - 1) * COSMWASM_OPERATOR_COST;
        let mut accumulated = 0u64;
        let mut depth = 0u32;
        for item in operators(self.wasm, func)? {
            let (op, raw) = item?;
            let accounting = is_accounting(&op);
            if surcharge > 0 {
                // Merged into the first operator's charge when it is an
                // accounting one, else charged on its own before it.
                if accounting {
                    accumulated += surcharge;
                } else {
                    accounting_charge(f, gas, surcharge);
                }
                surcharge = 0;
            }
            accumulated += if accounting { COSMWASM_ACCOUNTING_COST } else { COSMWASM_OPERATOR_COST };
            if accounting && accumulated > 0 {
                accounting_charge(f, gas, accumulated);
                accumulated = 0;
            }
            match &op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::Try { .. }
                | Operator::TryTable { .. } => depth += 1,
                Operator::End if depth == 0 => {
                    if let Some(claim) = claim {
                        // The function's own end: close the wrapper,
                        // release the claim.
                        f.instruction(&Instruction::End);
                        for instruction in epilogue(global, claim) {
                            f.instruction(&instruction);
                        }
                        continue;
                    }
                }
                Operator::End | Operator::Delegate { .. } => depth -= 1,
                Operator::Return if claim.is_some() => {
                    f.instruction(&Instruction::Br(depth));
                    continue;
                }
                op if is_bulk(op) => {
                    f.instruction(&Instruction::Call(CHARGE_INDEX));
                }
                Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. } => {
                    self.error.get_or_insert_with(|| "tail calls are not supported".into());
                }
                _ => {}
            }
            match self.kept(op, raw)? {
                Kept::Encoded(instruction) => f.instruction(&instruction),
                Kept::Raw(bytes) => f.raw(bytes.iter().copied()),
            };
        }
        Ok(())
    }
}

/// A function's stack prologue: claim its frame and compare with the
/// limit; then, past it, mark the global and trap, and open the block that
/// wraps the body.
fn prologue<'a>(
    global: u32,
    frame: u32,
    max_units: u32,
    block: BlockType,
) -> ([Instruction<'a>; 8], [Instruction<'a>; 5]) {
    (
        [
            Instruction::GlobalGet(global),
            Instruction::I32Const(frame as i32),
            Instruction::I32Add,
            Instruction::GlobalSet(global),
            Instruction::GlobalGet(global),
            Instruction::I32Const(max_units as i32),
            Instruction::I32GtU,
            Instruction::If(BlockType::Empty),
        ],
        [
            Instruction::I32Const(STACK_EXHAUSTED_MARK),
            Instruction::GlobalSet(global),
            Instruction::Unreachable,
            Instruction::End,
            Instruction::Block(block),
        ],
    )
}

/// A function's epilogue, after the wrapping block: release the frame
/// and end the function.
fn epilogue<'a>(global: u32, frame: u32) -> [Instruction<'a>; 5] {
    [
        Instruction::GlobalGet(global),
        Instruction::I32Const(frame as i32),
        Instruction::I32Sub,
        Instruction::GlobalSet(global),
        Instruction::End,
    ]
}

/// What fuel would charge for `op`: wasmtime's default operator costs
/// (`wasmtime_environ::Tunables`), the schedule gas followed while it was
/// fuel. Consensus-relevant.
fn fuel_cost(op: &Operator<'_>) -> u64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::Unreachable
        | Operator::Return
        | Operator::Else
        | Operator::End => 0,
        _ => 1,
    }
}

/// Whether the code after `op` is a new basic block: it may be reached
/// without running what came before, or what came before may leave.
fn ends_basic_block(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
    )
}

/// One basic block on its way out: its instructions and their cost, which
/// is charged from the gas global before any of them runs.
struct Segment {
    gas: u32,
    meter: bool,
    /// The block's instructions, encoded.
    bytes: Vec<u8>,
    cost: u64,
}

impl Segment {
    fn new(gas: u32, meter: bool) -> Self {
        Self { gas, meter, bytes: Vec::new(), cost: 0 }
    }

    fn push(&mut self, instruction: Instruction<'_>, cost: u64) {
        instruction.encode(&mut self.bytes);
        self.cost += cost;
    }

    /// An instruction as the module had it, byte for byte.
    fn push_raw(&mut self, bytes: &[u8], cost: u64) {
        self.bytes.extend_from_slice(bytes);
        self.cost += cost;
    }

    /// Emits the charge (`gas -= cost`, trapping below zero), then the
    /// block's instructions.
    fn flush(&mut self, f: &mut wasm_encoder::Function) {
        if self.meter && self.cost > 0 {
            f.instruction(&Instruction::GlobalGet(self.gas))
                .instruction(&Instruction::I64Const(self.cost as i64))
                .instruction(&Instruction::I64Sub)
                .instruction(&Instruction::GlobalSet(self.gas))
                .instruction(&Instruction::GlobalGet(self.gas))
                .instruction(&Instruction::I64Const(0))
                .instruction(&Instruction::I64LtS)
                .instruction(&Instruction::If(BlockType::Empty))
                .instruction(&Instruction::Unreachable)
                .instruction(&Instruction::End);
        }
        f.raw(self.bytes.drain(..));
        self.cost = 0;
    }
}

/// Rewrites a valid module as the module documentation describes.
/// `features` must be the features it was validated with.
pub fn preprocess(
    wasm: &[u8],
    limit: StackLimit,
    options: RewriteOptions,
    features: WasmFeatures,
) -> Result<Vec<u8>, PreprocessError> {
    rewrite(wasm, limit, options, features, true)
}

/// [`preprocess`] without the gas charges: for checking the meter against
/// wasmtime's fuel, which must count the same on this code. Never for a
/// VM: the code keeps its gas global but charges nothing, so it would run
/// unbounded.
#[doc(hidden)]
pub fn preprocess_unmetered(
    wasm: &[u8],
    limit: StackLimit,
    options: RewriteOptions,
    features: WasmFeatures,
) -> Result<Vec<u8>, PreprocessError> {
    rewrite(wasm, limit, options, features, false)
}

fn rewrite(
    wasm: &[u8],
    limit: StackLimit,
    options: RewriteOptions,
    features: WasmFeatures,
    meter: bool,
) -> Result<Vec<u8>, PreprocessError> {
    let analysis = analyze(wasm, features)?;
    let mut rewriter = Rewriter {
        wasm,
        analysis,
        limit,
        options,
        meter,
        next_function: 0,
        types_done: false,
        imports_done: false,
        globals_done: false,
        exports_done: false,
        functions_done: false,
        code_done: false,
        error: None,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| PreprocessError(e.to_string()))?;
    if let Some(error) = rewriter.error {
        return Err(PreprocessError(error));
    }
    let bytes = module.finish();
    // The result is valid with the same features; every consumer (the
    // compiler, precompilation) validates it again, so only test builds
    // pay for checking it here, to name the rewrite when it is not.
    if cfg!(debug_assertions) {
        Validator::new_with_features(features)
            .validate_all(&bytes)
            .map_err(|e| PreprocessError(format!("rewrite is invalid: {e}")))?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The imports of a rewritten `wat` module, as `namespace::name`.
    fn rewritten_imports(wat: &str) -> Vec<String> {
        let wasm = wat::parse_str(wat).unwrap();
        let rewritten =
            preprocess(&wasm, StackLimit::default(), RewriteOptions::default(), WasmFeatures::default())
                .unwrap();
        let mut imports = Vec::new();
        for payload in Parser::new(0).parse_all(&rewritten) {
            if let Payload::ImportSection(reader) = payload.unwrap() {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    imports.push(format!("{}::{}", import.module, import.name));
                }
            }
        }
        imports
    }

    #[test]
    fn only_a_module_with_bulk_instructions_gets_an_import() {
        let plain = r#"(module (memory 1) (func $f (call $g)) (func $g) (export "f" (func $f)))"#;
        assert!(rewritten_imports(plain).is_empty(), "no import to fill on every instantiation");
        let bulk = r#"(module (import "env" "h" (func $h)) (memory 1)
            (func $f (call $h) (memory.fill (i32.const 0) (i32.const 0) (i32.const 8))))"#;
        let imports = rewritten_imports(bulk);
        assert_eq!(imports, ["xwasm_internal::charge_bulk", "env::h"]);
        assert_eq!(added_imports(imports.iter().map(|i| i.split("::").next().unwrap())), 1);
    }

    /// Per defined function of `wasm`: whether its body reads global
    /// `global`.
    fn reads_global(wasm: &[u8], global: u32) -> Vec<bool> {
        let mut reads = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut operators = body.get_operators_reader().unwrap();
                let mut found = false;
                while !operators.eof() {
                    found |= matches!(operators.read().unwrap(), Operator::GlobalGet { global_index } if global_index == global);
                }
                reads.push(found);
            }
        }
        reads
    }

    #[test]
    fn private_functions_outside_cycles_do_no_stack_accounting() {
        let wat = r#"(module
            (func $helper (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
            (func $recursive (param i32) (result i32)
              (if (result i32) (local.get 0)
                (then (call $recursive (call $helper (i32.sub (local.get 0) (i32.const 1)))))
                (else (i32.const 0))))
            (func $tabled (result i32) (i32.const 2))
            (table 1 funcref) (elem (i32.const 0) $tabled)
            (func (export "entry") (result i32) (call $helper (call $recursive (i32.const 3)))))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let options = RewriteOptions::default();
        let rewritten = preprocess(&wasm, StackLimit::default(), options, WasmFeatures::default()).unwrap();
        // Global 0 is the stack count (the module has no globals of its
        // own); the last function reads and sets it for the host.
        let reads = reads_global(&rewritten, 0);
        assert_eq!(reads, [false, true, true, true, true], "helper, recursive, tabled, entry, the host's");
    }

    /// A function a table's initializer takes (function references) is
    /// address-taken: it claims its own frame.
    #[test]
    fn a_function_in_a_table_initializer_claims() {
        let wat = r#"(module
            (type $t (func))
            (func $f (type $t))
            (table 1 1 funcref (ref.func $f))
            (func (export "entry") (call_indirect (type $t) (i32.const 0))))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let features = WasmFeatures::default() | WasmFeatures::FUNCTION_REFERENCES;
        let rewritten =
            preprocess(&wasm, StackLimit::default(), RewriteOptions::default(), features).unwrap();
        assert_eq!(reads_global(&rewritten, 0), [true, true, true], "$f, entry, the host's");
    }
}
