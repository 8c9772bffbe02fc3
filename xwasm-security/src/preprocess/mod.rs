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

mod analysis;
mod bulk;
mod meter;
mod stack;

pub use bulk::{CHARGE_BULK, INTERNAL_NAMESPACE, added_imports};
pub use meter::{
    COSMWASM_ACCOUNTING_COST, COSMWASM_LOCALS_THRESHOLD, COSMWASM_OPERATOR_COST, GAS_AT_INSTANTIATION,
    GAS_GLOBAL, Meter,
};
pub use stack::{STACK_EXHAUSTED_MARK, STACK_EXPORT, StackLimit};

use rayon::prelude::*;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{BlockType, ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType};
use wasmparser::{Operator, Parser, Validator, WasmFeatures};

pub use analysis::{Analysis, AnalysisError, analyze};

/// Bumped whenever the rewrite changes (it changes gas).
pub const PREPROCESS_VERSION: u32 = 7;
/// The names the rewrite exports: a module may not export them itself
/// (the policy refuses it), and no call may enter them.
pub const RESERVED_NAMES: [&str; 2] = [GAS_GLOBAL, STACK_EXPORT];

/// Why a module could not be rewritten (it was valid, so this is a bug or a
/// construct the rewrite does not support).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("preprocessing failed: {0}")]
pub struct PreprocessError(pub String);

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

/// The rewriting pass. Cloned for each function body, which are rewritten
/// on every core.
#[derive(Clone)]
struct Rewriter<'w> {
    /// The module being rewritten: operators the rewrite keeps as they are
    /// are copied from it byte for byte, not decoded and encoded again.
    wasm: &'w [u8],
    analysis: &'w Analysis,
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

impl Rewriter<'_> {
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

    fn add_functions(&mut self, functions: &mut wasm_encoder::FunctionSection) {
        functions.function(self.stack_type());
        self.functions_done = true;
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

    /// Rewrites the bodies on every core, each by a clone of this
    /// rewriter, and adds them in the module's order: the same bytes, and
    /// the same first error, as one body after another.
    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let bodies = section.into_iter().collect::<Result<Vec<_>, _>>()?;
        let first = self.next_function;
        let this = &*self;
        let rewritten: Vec<_> = bodies
            .into_par_iter()
            .enumerate()
            .map(|(i, body)| {
                let mut one = Rewriter { error: None, ..this.clone() };
                let function = one.function_body(first + i, &body)?;
                Ok::<_, reencode::Error>((function, one.error))
            })
            .collect();
        for result in rewritten {
            let (function, error) = result?;
            if let Some(error) = error {
                self.error.get_or_insert(error);
            }
            code.function(&function);
            self.next_function += 1;
        }
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
        let function = self.function_body(self.next_function, &func)?;
        self.next_function += 1;
        code.function(&function);
        Ok(())
    }
}

impl Rewriter<'_> {
    /// The rewritten body of defined function `index`.
    fn function_body(
        &mut self,
        index: usize,
        func: &wasmparser::FunctionBody<'_>,
    ) -> Result<wasm_encoder::Function, reencode::Error> {
        let block = self.analysis.frames[index];
        let claim = self.analysis.claims[index].map(|units| {
            // Past the limit on any entry: no more is needed to trap, and
            // the sum with the count stays within 32 bits.
            units.min(u64::from(self.limit.max_units) + 1) as u32
        });
        let block = match block {
            BlockType::FunctionType(position) => {
                BlockType::FunctionType(self.analysis.type_count + self.imported() + position)
            }
            other => other,
        };
        let mut f = self.new_function_with_parsed_locals(func)?;
        // Metered, the body runs in a block of its own (the function's
        // results), inside the out-of-gas block: a charge that finds too
        // little gas branches out of both, to a trap. One trap per
        // function, not one `if` per charge.
        if self.meter {
            f.instruction(&Instruction::Block(BlockType::Empty)).instruction(&Instruction::Block(block));
        }
        if self.meter && self.options.meter == Meter::Cosmwasm {
            self.accounting_body(&mut f, func, claim, block)?;
        } else {
            self.operators_body(&mut f, func, claim, block)?;
        }
        if self.meter {
            // The body's own `end` closed its block.
            f.instruction(&Instruction::Return)
                .instruction(&Instruction::End)
                .instruction(&Instruction::Unreachable)
                .instruction(&Instruction::End);
        }
        Ok(f)
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
    rewrite(wasm, None, limit, options, features, true)
}

/// [`preprocess`] of a module [`analyze`] read (under `features` or
/// fewer): only the rewriting pass reads its operators again.
pub fn preprocess_analyzed(
    wasm: &[u8],
    analysis: &Analysis,
    limit: StackLimit,
    options: RewriteOptions,
    features: WasmFeatures,
) -> Result<Vec<u8>, PreprocessError> {
    rewrite(wasm, Some(analysis), limit, options, features, true)
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
    rewrite(wasm, None, limit, options, features, false)
}

fn rewrite(
    wasm: &[u8],
    analyzed: Option<&Analysis>,
    limit: StackLimit,
    options: RewriteOptions,
    features: WasmFeatures,
    meter: bool,
) -> Result<Vec<u8>, PreprocessError> {
    let owned;
    let analysis = match analyzed {
        Some(analysis) => analysis,
        None => {
            owned = analyze(wasm, features)?;
            &owned
        }
    };
    if let Some(name) = &analysis.reserved_export {
        return Err(PreprocessError(format!("the export name `{name}` is reserved for the rewrite")));
    }
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
