//! The deterministic call-stack limit: the frame a claiming function takes
//! on entry and gives back on exit, and the exported function that reads
//! and sets the count.

use wasm_encoder::{BlockType, Instruction};

use super::Rewriter;

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

impl Rewriter<'_> {
    pub(super) fn stack_global(&self) -> u32 {
        self.analysis.global_count
    }

    /// The type of [`STACK_EXPORT`].
    pub(super) fn stack_type(&self) -> u32 {
        self.analysis.type_count + self.imported() + self.analysis.extra_types.len() as u32
    }

    /// The function index of [`STACK_EXPORT`].
    pub(super) fn stack_function(&self) -> u32 {
        self.analysis.imported_functions + self.imported() + self.analysis.frames.len() as u32
    }

    pub(super) fn add_code(&mut self, code: &mut wasm_encoder::CodeSection) {
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
}

/// A function's stack prologue: claim its frame and compare with the
/// limit; then, past it, mark the global and trap, and open the block that
/// wraps the body.
pub(super) fn prologue<'a>(
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
pub(super) fn epilogue<'a>(global: u32, frame: u32) -> [Instruction<'a>; 5] {
    [
        Instruction::GlobalGet(global),
        Instruction::I32Const(frame as i32),
        Instruction::I32Sub,
        Instruction::GlobalSet(global),
        Instruction::End,
    ]
}

#[cfg(test)]
mod tests {
    use crate::preprocess::{RewriteOptions, StackLimit, preprocess};
    use wasmparser::{Operator, Parser, Payload, WasmFeatures};

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
