//! [`ModuleInfo`]: what a module is, read from its bytes with wasmparser.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

/// A WebAssembly value type as a module declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// Any other reference type.
    Ref,
}

impl ValType {
    fn from_wasm(ty: wasmparser::ValType) -> Self {
        match ty {
            wasmparser::ValType::I32 => Self::I32,
            wasmparser::ValType::I64 => Self::I64,
            wasmparser::ValType::F32 => Self::F32,
            wasmparser::ValType::F64 => Self::F64,
            wasmparser::ValType::V128 => Self::V128,
            wasmparser::ValType::Ref(r) if r.is_func_ref() => Self::FuncRef,
            wasmparser::ValType::Ref(r) if r.is_extern_ref() => Self::ExternRef,
            wasmparser::ValType::Ref(_) => Self::Ref,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("?"))
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncSig {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncSig {
    pub fn new(params: &[ValType], results: &[ValType]) -> Self {
        Self { params: params.to_vec(), results: results.to_vec() }
    }
}

impl fmt::Display for FuncSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[ValType]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        write!(f, "({}) -> ({})", list(&self.params), list(&self.results))
    }
}

/// What an import or export is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ItemType {
    Func { signature: FuncSig },
    Memory { limits: MemoryLimits },
    Table { initial: u64, maximum: Option<u64> },
    Global { ty: ValType, mutable: bool },
    Tag,
}

impl ItemType {
    pub fn kind(&self) -> &'static str {
        match self {
            ItemType::Func { .. } => "func",
            ItemType::Memory { .. } => "memory",
            ItemType::Table { .. } => "table",
            ItemType::Global { .. } => "global",
            ItemType::Tag => "tag",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemType::Func { signature } => write!(f, "func {signature}"),
            ItemType::Memory { limits } => write!(f, "memory {limits}"),
            ItemType::Table { initial, maximum: Some(max) } => write!(f, "table {initial}..{max}"),
            ItemType::Table { initial, maximum: None } => write!(f, "table {initial}.."),
            ItemType::Global { ty, mutable } => {
                write!(f, "global {}{ty}", if *mutable { "mut " } else { "" })
            }
            ItemType::Tag => f.write_str("tag"),
        }
    }
}

/// Linear-memory limits in 64 KiB pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryLimits {
    pub initial_pages: u64,
    pub maximum_pages: Option<u64>,
}

impl fmt::Display for MemoryLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.maximum_pages {
            Some(max) => write!(f, "{}..{} pages", self.initial_pages, max),
            None => write!(f, "{}.. pages", self.initial_pages),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    #[serde(flatten)]
    pub ty: ItemType,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub name: String,
    /// The index of the exported item in its index space (functions count
    /// imported functions first).
    pub index: u32,
    #[serde(flatten)]
    pub ty: ItemType,
}

/// A description of a module's bytes, and the verdict of the policy that
/// checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// SHA-256 of the bytes, hex. Consensus-relevant: it names the code.
    pub code_hash: String,
    pub size: usize,
    pub imports: Vec<Import>,
    pub exports: Vec<Export>,
    /// The module's own memory (defined, not imported), if it has one.
    pub memory: Option<MemoryLimits>,
    /// Functions defined in the module (imports not counted).
    pub function_count: u32,
    /// Locals declared by all its functions together (parameters not
    /// counted). Compilers zero each one on entry: a deployment pays for
    /// them (`GasSchedule::deployment_items`).
    pub locals: u64,
    pub custom_sections: Vec<String>,
    pub uses_floats: bool,
    pub has_start: bool,
    /// The WebAssembly features it uses (wasmparser's names, lower case),
    /// filled in by `ModulePolicy::inspect`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// What the policy said of it.
    pub verdict: Verdict,
}

/// A policy's verdict on a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The profile that judged it (`xwasm` or `permissive`).
    pub profile: String,
    pub accepted: bool,
    /// Why it was refused.
    pub reason: Option<String>,
}

impl ModuleInfo {
    /// Exported functions of type `() -> ()`: the callable methods (ABI.md).
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.exports.iter().filter_map(|e| match &e.ty {
            ItemType::Func { signature } if signature.params.is_empty() && signature.results.is_empty() => {
                Some(e.name.as_str())
            }
            _ => None,
        })
    }

    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }
}

/// SHA-256 of `bytes`.
pub fn code_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Counts gathered while reading a module, for the policy's limits.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub globals: u64,
    pub tables: u64,
    pub table_elements: u64,
    pub data_segments: u64,
    pub max_locals: u64,
    pub max_body_bytes: u64,
    pub max_br_table_targets: u64,
    pub max_nesting: u64,
    pub max_params: u64,
    pub memories: u64,
}

/// Reads `bytes` (already validated) into a [`ModuleInfo`] and counts;
/// its bodies' operators only when `shape`, what they hold (read by the
/// analysis that validated them), is not given.
pub(crate) fn describe(
    bytes: &[u8],
    policy: &str,
    shape: Option<&BodyShape>,
) -> Result<(ModuleInfo, Counts), wasmparser::BinaryReaderError> {
    let mut types: Vec<Option<FuncSig>> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut info = ModuleInfo {
        code_hash: hex::encode(code_hash(bytes)),
        size: bytes.len(),
        imports: Vec::new(),
        exports: Vec::new(),
        memory: None,
        function_count: 0,
        locals: 0,
        custom_sections: Vec::new(),
        uses_floats: false,
        has_start: false,
        features: Vec::new(),
        verdict: Verdict { profile: policy.to_owned(), accepted: true, reason: None },
    };
    let mut counts = Counts::default();
    let mut memories: Vec<MemoryLimits> = Vec::new();
    let mut tables: Vec<(u64, Option<u64>)> = Vec::new();
    let mut globals: Vec<(ValType, bool)> = Vec::new();
    let sig = |types: &[Option<FuncSig>], index: u32| {
        types.get(index as usize).cloned().flatten().unwrap_or_default()
    };
    let memory_limits =
        |m: wasmparser::MemoryType| MemoryLimits { initial_pages: m.initial, maximum_pages: m.maximum };
    let mut raw_exports = Vec::new();
    let mut bodies = Vec::new();

    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => Some(FuncSig {
                                params: f.params().iter().copied().map(ValType::from_wasm).collect(),
                                results: f.results().iter().copied().map(ValType::from_wasm).collect(),
                            }),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let ty = match import.ty {
                        TypeRef::Func(index) | TypeRef::FuncExact(index) => {
                            func_types.push(index);
                            ItemType::Func { signature: sig(&types, index) }
                        }
                        TypeRef::Memory(m) => {
                            memories.push(memory_limits(m));
                            ItemType::Memory { limits: memory_limits(m) }
                        }
                        TypeRef::Table(t) => {
                            tables.push((t.initial, t.maximum));
                            ItemType::Table { initial: t.initial, maximum: t.maximum }
                        }
                        TypeRef::Global(g) => {
                            globals.push((ValType::from_wasm(g.content_type), g.mutable));
                            ItemType::Global { ty: ValType::from_wasm(g.content_type), mutable: g.mutable }
                        }
                        TypeRef::Tag(_) => ItemType::Tag,
                    };
                    info.imports.push(Import { module: import.module.into(), name: import.name.into(), ty });
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    func_types.push(index?);
                    info.function_count += 1;
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let t = table?.ty;
                    tables.push((t.initial, t.maximum));
                    counts.tables += 1;
                    counts.table_elements = counts.table_elements.max(t.maximum.unwrap_or(t.initial));
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let limits = memory_limits(memory?);
                    memories.push(limits);
                    info.memory.get_or_insert(limits);
                    counts.memories += 1;
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let ty = global?.ty;
                    globals.push((ValType::from_wasm(ty.content_type), ty.mutable));
                    counts.globals += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    raw_exports.push((export.name.to_owned(), export.kind, export.index));
                }
            }
            Payload::StartSection { .. } => info.has_start = true,
            Payload::DataSection(reader) => counts.data_segments += reader.count() as u64,
            Payload::CodeSectionEntry(body) => {
                let mut locals = 0u64;
                for local in body.get_locals_reader()? {
                    let (n, ty) = local?;
                    locals += n as u64;
                    info.uses_floats |= ValType::from_wasm(ty).is_float();
                }
                counts.max_locals = counts.max_locals.max(locals);
                info.locals = info.locals.saturating_add(locals);
                counts.max_body_bytes = counts.max_body_bytes.max(body.range().len() as u64);
                if shape.is_none() {
                    bodies.push(body);
                }
            }
            Payload::CustomSection(reader) => info.custom_sections.push(reader.name().to_owned()),
            _ => {}
        }
    }

    // The operators of every body, on every core (the first error in the
    // module's order is the one reported), unless the analysis read them.
    let mut read = BodyShape::default();
    for body in bodies.par_iter().map(body_shape).collect::<Vec<_>>() {
        read.merge(&body?);
    }
    let shape = shape.unwrap_or(&read);
    info.uses_floats |= shape.uses_floats;
    counts.max_br_table_targets = shape.max_br_table_targets;
    counts.max_nesting = shape.max_nesting;
    for (name, kind, index) in raw_exports {
        let ty = match kind {
            ExternalKind::Func | ExternalKind::FuncExact => ItemType::Func {
                signature: func_types.get(index as usize).map(|&t| sig(&types, t)).unwrap_or_default(),
            },
            ExternalKind::Memory => match memories.get(index as usize) {
                Some(&limits) => ItemType::Memory { limits },
                None => continue,
            },
            ExternalKind::Table => match tables.get(index as usize) {
                Some(&(initial, maximum)) => ItemType::Table { initial, maximum },
                None => continue,
            },
            ExternalKind::Global => match globals.get(index as usize) {
                Some(&(ty, mutable)) => ItemType::Global { ty, mutable },
                None => continue,
            },
            ExternalKind::Tag => ItemType::Tag,
        };
        info.exports.push(Export { name, index, ty });
    }
    for signature in types.iter().flatten() {
        counts.max_params = counts.max_params.max(signature.params.len() as u64);
        info.uses_floats |= signature.params.iter().chain(&signature.results).any(|t| t.is_float());
    }
    info.uses_floats |= globals.iter().any(|(t, _)| t.is_float());
    Ok((info, counts))
}

/// What function bodies hold that the limits bound.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodyShape {
    pub uses_floats: bool,
    pub max_br_table_targets: u64,
    /// The deepest nesting of blocks, loops and ifs.
    pub max_nesting: u64,
}

impl BodyShape {
    /// Takes in one operator of a body, `depth` blocks deep before it:
    /// whether it is a float instruction (by the `F32`/`F64` prefix of
    /// wasmparser's operator names, which covers every float opcode), its
    /// nesting, its `br_table`'s size.
    pub fn read(&mut self, op: &wasmparser::Operator<'_>, depth: &mut u64) {
        use wasmparser::Operator;
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                *depth += 1;
                self.max_nesting = self.max_nesting.max(*depth);
            }
            Operator::End => *depth = depth.saturating_sub(1),
            Operator::BrTable { targets } => {
                self.max_br_table_targets = self.max_br_table_targets.max(u64::from(targets.len()));
            }
            _ => {}
        }
        self.uses_floats |= is_float(op);
    }

    /// Both bodies' shapes as one.
    pub fn merge(&mut self, other: &BodyShape) {
        self.uses_floats |= other.uses_floats;
        self.max_br_table_targets = self.max_br_table_targets.max(other.max_br_table_targets);
        self.max_nesting = self.max_nesting.max(other.max_nesting);
    }
}

/// Reads `body`'s operators into its shape.
fn body_shape(body: &wasmparser::FunctionBody<'_>) -> Result<BodyShape, wasmparser::BinaryReaderError> {
    let mut shape = BodyShape::default();
    let mut depth = 0u64;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        shape.read(&reader.read()?, &mut depth);
    }
    Ok(shape)
}

/// Whether `op` is a float instruction: its name in wasmparser starts with
/// `F32` or `F64` (every float opcode's does). The match is generated from
/// wasmparser's own list of operators, each arm's answer computed from the
/// operator's name at compile time: no formatting, no allocation.
fn is_float(op: &wasmparser::Operator<'_>) -> bool {
    const fn float_name(name: &str) -> bool {
        let name = name.as_bytes();
        name.len() >= 3 && name[0] == b'F' && matches!((name[1], name[2]), (b'3', b'2') | (b'6', b'4'))
    }
    macro_rules! float_operators {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( wasmparser::Operator::$op { .. } => const { float_name(stringify!($op)) }, )*
                _ => false,
            }
        };
    }
    wasmparser::for_each_operator!(float_operators)
}

#[cfg(test)]
mod tests {
    use super::is_float;
    use wasmparser::{Operator, Parser, Payload};

    /// Every operator of a module, with whether its formatted name starts
    /// with `F32` or `F64` (what `is_float` must answer, without formatting
    /// the whole operator).
    #[test]
    fn the_float_check_agrees_with_the_operator_names() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
              (func (param f32 f64 i32) (result f64)
                (drop (f32.add (local.get 0) (f32.const 1)))
                (drop (i32.add (local.get 2) (i32.const 1)))
                (drop (f32.load (i32.const 0)))
                (drop (i64.trunc_f64_s (local.get 1)))
                (drop (i32.trunc_sat_f32_s (local.get 0)))
                (drop (f64.copysign (local.get 1) (local.get 1)))
                (drop (f32x4.splat (local.get 0)))
                (drop (i32x4.splat (local.get 2)))
                (drop (f64.convert_i32_u (local.get 2)))
                (if (local.get 2) (then nop))
                (f64.promote_f32 (local.get 0))))"#,
        )
        .unwrap();
        // Float and other operators of `wasm`, each checked against its name.
        let count = |wasm: &[u8]| {
            let (mut floats, mut others) = (0, 0);
            for payload in Parser::new(0).parse_all(wasm) {
                if let Payload::CodeSectionEntry(body) = payload.unwrap() {
                    for op in body.get_operators_reader().unwrap() {
                        let op: Operator<'_> = op.unwrap();
                        let name = format!("{op:?}");
                        let expected = name.starts_with("F32") || name.starts_with("F64");
                        assert_eq!(is_float(&op), expected, "{name}");
                        if expected { floats += 1 } else { others += 1 }
                    }
                }
            }
            (floats, others)
        };
        let (floats, others) = count(&wasm);
        assert_eq!(
            floats, 7,
            "f32.add, f32.const, f32.load, f64.copysign, f32x4.splat, f64.convert_i32_u, f64.promote_f32"
        );
        assert!(others > 5);
        // And every operator of a real contract.
        let (floats, others) = count(include_bytes!("../../examples/contracts/cosmwasm/hackatom.wasm"));
        assert!(floats > 0 && others > 10_000, "hackatom: {floats} floats, {others} others");
    }
}
