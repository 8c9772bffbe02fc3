//! Bulk-memory gas: the `charge_bulk` import placed before every bulk
//! instruction, which charges its byte or element count.

use wasm_encoder::EntityType;
use wasmparser::Operator;

use super::Rewriter;

/// The namespace of the imports the rewrite adds.
pub const INTERNAL_NAMESPACE: &str = "xwasm_internal";
pub const CHARGE_BULK: &str = "charge_bulk";

/// `charge_bulk`'s function index, when it is imported.
pub(super) const CHARGE_INDEX: u32 = 0;

/// The instructions whose byte or element count `charge_bulk` charges.
pub(super) fn is_bulk(op: &Operator<'_>) -> bool {
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

impl Rewriter<'_> {
    /// The imports added before the module's own.
    pub(super) fn imported(&self) -> u32 {
        self.analysis.bulk as u32
    }

    pub(super) fn charge_type(&self) -> u32 {
        self.analysis.type_count
    }

    pub(super) fn add_imports(&mut self, imports: &mut wasm_encoder::ImportSection) {
        if self.analysis.bulk {
            imports.import(INTERNAL_NAMESPACE, CHARGE_BULK, EntityType::Function(self.charge_type()));
        }
        self.imports_done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::added_imports;
    use crate::preprocess::{RewriteOptions, StackLimit, preprocess};
    use wasmparser::{Parser, Payload, WasmFeatures};

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
}
