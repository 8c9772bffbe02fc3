//! [`ModulePolicy`]: what a module must be to be deployed.

use crate::info::{self, FuncSig, ItemType, ModuleInfo};
use crate::preprocess::{Analysis, AnalysisError, RewriteOptions, StackLimit};
use serde::{Deserialize, Serialize};
use wasmparser::{Validator, WasmFeatures};

/// Which checks beyond validation and limits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// ABI.md: only the allowed imports with their exact signatures, one
    /// exported memory named `memory`, nothing else imported, no start
    /// function.
    #[default]
    Xwasm,
    /// Validation and limits only; any imports. For inspecting, compiling
    /// and precompiling foreign contracts.
    Permissive,
    /// A CosmWasm 3.0 contract (xwasm-cosmwasm checks what cosmwasm-vm
    /// checks at upload first): here the limits, and only the allowed
    /// imports with their exact signatures.
    Cosmwasm,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Xwasm => "xwasm",
            Profile::Permissive => "permissive",
            Profile::Cosmwasm => "cosmwasm",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "xwasm" => Ok(Profile::Xwasm),
            "permissive" => Ok(Profile::Permissive),
            "cosmwasm" => Ok(Profile::Cosmwasm),
            other => Err(format!("unknown policy `{other}` (expected xwasm, permissive or cosmwasm)")),
        }
    }
}

/// Structural limits on a module. Consensus-relevant: nodes must agree on
/// which modules deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleLimits {
    /// Checked before any parsing.
    pub max_module_bytes: usize,
    pub max_functions: u32,
    pub max_locals_per_function: u64,
    /// Locals declared by all functions together: compilers zero each one
    /// on entry, and a declaration of thousands takes four bytes.
    pub max_total_locals: u64,
    /// The largest function body, in bytes: the optimizing compiler's time
    /// and memory grow faster than linearly with one function's size.
    pub max_function_body_bytes: u64,
    /// The most targets of one `br_table` (Cranelift takes at most
    /// `xwasm_engine::MAX_BR_TABLE_TARGETS`).
    pub max_br_table_targets: u64,
    /// The deepest nesting of blocks, loops and ifs in one function.
    pub max_nesting_depth: u64,
    pub max_params: u64,
    pub max_globals: u64,
    pub max_tables: u64,
    pub max_table_elements: u64,
    pub max_data_segments: u64,
    pub max_initial_memory_pages: u64,
    pub max_imports: usize,
}

/// The default largest function body: 256 KiB, five times the largest of
/// the corpus contracts (52 KB). Measured on the 2-core build machine
/// (`benches/examples/compile_probe.rs`): Cranelift compiles the corpus at
/// 0.5-0.6 µs per byte; one function of 512 live locals mixed in a loop
/// costs 0.9 µs per byte at 256 KiB but 3.0 µs per byte at 1 MiB: the
/// register allocator is superlinear in one function's size.
pub const FUNCTION_BODY_LIMIT: u64 = 256 << 10;

impl Default for ModuleLimits {
    /// Generous for real compiler output (the largest corpus contract is
    /// 432 KB with about 1,000 functions), tight enough to refuse bombs.
    fn default() -> Self {
        Self {
            max_module_bytes: 4 << 20,
            max_functions: 20_000,
            max_locals_per_function: 4_096,
            max_total_locals: 65_536,
            max_function_body_bytes: FUNCTION_BODY_LIMIT,
            max_br_table_targets: 16_384,
            max_nesting_depth: 1_024,
            max_params: 128,
            max_globals: 1_024,
            max_tables: 4,
            max_table_elements: 20_000,
            max_data_segments: 10_000,
            max_initial_memory_pages: 1_024,
            max_imports: 256,
        }
    }
}

/// An import the `xwasm` profile allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSpec {
    pub module: String,
    pub name: String,
    pub signature: FuncSig,
}

/// Why a module was refused. Each names what it refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    #[error("the module is empty")]
    Empty,
    #[error("module of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid WebAssembly{}: {message}", function.map(|f| format!(" in function {f}")).unwrap_or_default())]
    Invalid { message: String, offset: usize, function: Option<u32> },
    #[error("{what}: {found} exceeds the limit of {limit}")]
    LimitExceeded { what: &'static str, found: u64, limit: u64 },
    #[error("import `{module}::{name}` is not allowed ({detail})")]
    ForbiddenImport { module: String, name: String, detail: String },
    #[error("{0}")]
    Shape(String),
    #[error("the module could not be preprocessed: {0}")]
    Preprocess(String),
}

/// The static checks every module passes before it is compiled.
#[derive(Debug, Clone)]
pub struct ModulePolicy {
    pub profile: Profile,
    pub limits: ModuleLimits,
    /// Allow float instructions and types (NaNs are canonicalized by the
    /// engine). When false, a module using floats is invalid.
    pub allow_floats: bool,
    /// The deterministic stack limit the preprocessing enforces.
    pub stack_limit: StackLimit,
    /// The preprocessing's optional passes.
    pub rewrite: RewriteOptions,
    allowed_imports: Vec<ImportSpec>,
}

impl ModulePolicy {
    /// A policy of `profile` whose `xwasm` profile allows exactly
    /// `allowed_imports`.
    pub fn new(profile: Profile, allowed_imports: Vec<ImportSpec>) -> Self {
        Self {
            profile,
            limits: ModuleLimits::default(),
            allow_floats: true,
            stack_limit: StackLimit::default(),
            rewrite: RewriteOptions::default(),
            allowed_imports,
        }
    }

    pub fn allowed_imports(&self) -> &[ImportSpec] {
        &self.allowed_imports
    }

    /// The WebAssembly features a module may use: WebAssembly 2.0
    /// (bulk memory, reference types, sign extension, multi-value,
    /// non-trapping float-to-int, SIMD; `funcref` the only reference
    /// type) and extended constants; `externref` and other GC types,
    /// threads, memory64, multi-memory and the component model are refused.
    pub fn features(&self) -> WasmFeatures {
        // No GC types (externref among them): the engine is built without
        // wasmtime's garbage collector, and refuses them.
        let mut features = (WasmFeatures::WASM2 | WasmFeatures::EXTENDED_CONST) - WasmFeatures::GC_TYPES;
        if !self.allow_floats {
            features.remove(WasmFeatures::FLOATS);
            features.remove(WasmFeatures::SIMD);
        }
        features
    }

    /// Validates `bytes`, checks the limits and the profile, and describes
    /// the module.
    pub fn check(&self, bytes: &[u8]) -> Result<ModuleInfo, PolicyViolation> {
        Ok(self.check_and_analyze(bytes)?.0)
    }

    /// [`ModulePolicy::check`], with the analysis that validated the
    /// module (under this policy's features, as `Validator::validate_all`
    /// does: the same errors) and read what the description needs of its
    /// bodies. With [`ModulePolicy::preprocess_analyzed`], a deployment
    /// reads each operator once before its rewrite.
    pub fn check_and_analyze(&self, bytes: &[u8]) -> Result<(ModuleInfo, Analysis), PolicyViolation> {
        self.check_size(bytes)?;
        let analysis = crate::preprocess::analyze(bytes, self.features()).map_err(|e| match e {
            AnalysisError::Invalid(e) => PolicyViolation::Invalid {
                message: e.message().to_owned(),
                offset: e.offset(),
                function: function_at(bytes, e.offset()),
            },
            AnalysisError::Unsupported(reason) => PolicyViolation::Preprocess(reason),
        })?;
        Ok((self.check_analyzed(bytes, &analysis)?, analysis))
    }

    /// [`ModulePolicy::check`] for code already accepted on chain (loaded
    /// from state on a cache miss): the limits and the profile, without
    /// validating the module again (it was validated when it was stored,
    /// and the compiler validates what it compiles).
    pub fn check_stored(&self, bytes: &[u8]) -> Result<ModuleInfo, PolicyViolation> {
        self.check_with(bytes, None)
    }

    /// [`ModulePolicy::check`] of a module `analysis` validated (under
    /// features this policy allows), from what it read of the bodies:
    /// no operator is read again. With [`ModulePolicy::preprocess_analyzed`],
    /// a deployment reads each operator once before its rewrite.
    pub fn check_analyzed(&self, bytes: &[u8], analysis: &Analysis) -> Result<ModuleInfo, PolicyViolation> {
        self.check_with(bytes, Some(&analysis.shape))
    }

    /// Refuses empty bytes and bytes past the size limit.
    fn check_size(&self, bytes: &[u8]) -> Result<(), PolicyViolation> {
        if bytes.is_empty() {
            return Err(PolicyViolation::Empty);
        }
        let limit = self.limits.max_module_bytes;
        if bytes.len() > limit {
            return Err(PolicyViolation::TooLarge { size: bytes.len(), limit });
        }
        Ok(())
    }

    /// The checks of valid `bytes`, its bodies' `shape` read already or,
    /// if not given, read here.
    fn check_with(
        &self,
        bytes: &[u8],
        shape: Option<&info::BodyShape>,
    ) -> Result<ModuleInfo, PolicyViolation> {
        self.check_size(bytes)?;
        let (info, counts) = info::describe(bytes, self.profile.name(), shape).map_err(|e| {
            PolicyViolation::Invalid { message: e.message().to_owned(), offset: e.offset(), function: None }
        })?;
        self.check_limits(&info, &counts)?;
        if let Some(export) =
            info.exports.iter().find(|e| crate::preprocess::RESERVED_NAMES.contains(&e.name.as_str()))
        {
            return Err(PolicyViolation::Shape(format!(
                "the export name `{}` is reserved for the rewrite",
                export.name
            )));
        }
        match self.profile {
            Profile::Xwasm => self.check_abi_shape(&info)?,
            Profile::Cosmwasm => self.check_imports(&info)?,
            Profile::Permissive => {}
        }
        Ok(info)
    }

    /// The bytes to compile for a module this policy accepted: the
    /// deterministic stack limit and bulk-memory metering added (see
    /// [`crate::preprocess`]).
    pub fn preprocess(&self, bytes: &[u8]) -> Result<Vec<u8>, PolicyViolation> {
        crate::preprocess::preprocess(bytes, self.stack_limit, self.rewrite, self.features())
            .map_err(|e| PolicyViolation::Preprocess(e.0))
    }

    /// [`ModulePolicy::preprocess`] of a module `analysis` analyzed: its
    /// operators are read once more, to be rewritten.
    pub fn preprocess_analyzed(&self, bytes: &[u8], analysis: &Analysis) -> Result<Vec<u8>, PolicyViolation> {
        crate::preprocess::preprocess_analyzed(
            bytes,
            analysis,
            self.stack_limit,
            self.rewrite,
            self.features(),
        )
        .map_err(|e| PolicyViolation::Preprocess(e.0))
    }

    /// Describes any valid WebAssembly module, with this policy's verdict
    /// beside the description: a module the policy refuses (a feature
    /// beyond WebAssembly 2.0, a limit, the profile's shape) is still
    /// described, with `accepted: false` and the reason. Only bytes that
    /// are not a valid module are an error.
    pub fn inspect(&self, bytes: &[u8]) -> Result<ModuleInfo, PolicyViolation> {
        let verdict = self.check(bytes).err();
        if bytes.is_empty() {
            return Err(PolicyViolation::Empty);
        }
        if wasmparser::Parser::is_component(bytes) {
            return Err(PolicyViolation::Shape("a WebAssembly component, not a core module".into()));
        }
        let all = WasmFeatures::all();
        Validator::new_with_features(all).validate_all(bytes).map_err(|e| PolicyViolation::Invalid {
            message: e.message().to_owned(),
            offset: e.offset(),
            function: function_at(bytes, e.offset()),
        })?;
        let (mut info, _) = info::describe(bytes, self.profile.name(), None).map_err(|e| {
            PolicyViolation::Invalid { message: e.message().to_owned(), offset: e.offset(), function: None }
        })?;
        info.features = features_used(bytes, all);
        if let Some(violation) = verdict {
            info.verdict.accepted = false;
            info.verdict.reason = Some(violation.to_string());
        }
        Ok(info)
    }

    fn check_limits(&self, info: &ModuleInfo, counts: &info::Counts) -> Result<(), PolicyViolation> {
        let l = &self.limits;
        let checks: [(&'static str, u64, u64); 13] = [
            ("functions", info.function_count as u64, l.max_functions as u64),
            ("locals in one function", counts.max_locals, l.max_locals_per_function),
            ("locals of all functions", info.locals, l.max_total_locals),
            ("bytes of one function body", counts.max_body_bytes, l.max_function_body_bytes),
            ("targets of one br_table", counts.max_br_table_targets, l.max_br_table_targets),
            ("nesting depth of blocks in one function", counts.max_nesting, l.max_nesting_depth),
            ("parameters of one function type", counts.max_params, l.max_params),
            ("globals", counts.globals, l.max_globals),
            ("tables", counts.tables, l.max_tables),
            ("table elements", counts.table_elements, l.max_table_elements),
            ("data segments", counts.data_segments, l.max_data_segments),
            ("initial memory pages", info.memory.map_or(0, |m| m.initial_pages), l.max_initial_memory_pages),
            ("imports", info.imports.len() as u64, l.max_imports as u64),
        ];
        for (what, found, limit) in checks {
            if found > limit {
                return Err(PolicyViolation::LimitExceeded { what, found, limit });
            }
        }
        Ok(())
    }

    /// Each import is an allowed host function with its exact signature.
    fn check_imports(&self, info: &ModuleInfo) -> Result<(), PolicyViolation> {
        for import in &info.imports {
            let forbidden = |detail: String| PolicyViolation::ForbiddenImport {
                module: import.module.clone(),
                name: import.name.clone(),
                detail,
            };
            let ItemType::Func { signature } = &import.ty else {
                return Err(forbidden(format!(
                    "a contract imports only functions, not a {}",
                    import.ty.kind()
                )));
            };
            let spec = self
                .allowed_imports
                .iter()
                .find(|s| s.module == import.module && s.name == import.name)
                .ok_or_else(|| {
                    forbidden(format!("not a host function of the {} profile", self.profile.name()))
                })?;
            if &spec.signature != signature {
                return Err(forbidden(format!("signature {signature}, expected {}", spec.signature)));
            }
        }
        Ok(())
    }

    fn check_abi_shape(&self, info: &ModuleInfo) -> Result<(), PolicyViolation> {
        self.check_imports(info)?;
        let memories: Vec<_> = info.exports.iter().filter(|e| e.ty.kind() == "memory").collect();
        match memories.as_slice() {
            [only] if only.name == "memory" => {}
            [] => return Err(PolicyViolation::Shape("the module exports no memory named `memory`".into())),
            [other] => {
                return Err(PolicyViolation::Shape(format!(
                    "the module exports its memory as `{}`, expected `memory`",
                    other.name
                )));
            }
            _ => return Err(PolicyViolation::Shape("the module exports more than one memory".into())),
        }
        if info.has_start {
            return Err(PolicyViolation::Shape("a contract may not have a start function".into()));
        }
        if let Some(init) = info.export("init")
            && !matches!(&init.ty, ItemType::Func { signature } if signature == &FuncSig::default())
        {
            return Err(PolicyViolation::Shape(format!(
                "export `init` must be a function () -> (), found {}",
                init.ty
            )));
        }
        Ok(())
    }
}

/// The features a valid module uses: each one without which it does not
/// validate (one validation per feature; for inspection, not a hot path).
fn features_used(bytes: &[u8], all: WasmFeatures) -> Vec<String> {
    all.iter_names()
        .filter(|(_, flag)| Validator::new_with_features(all - *flag).validate_all(bytes).is_err())
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect()
}

/// The index of the function whose body contains `offset`, if any.
fn function_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let mut imported = 0u32;
    let mut index = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            wasmparser::Payload::ImportSection(reader) => {
                imported = reader
                    .into_imports()
                    .filter(|i| matches!(i.as_ref().map(|i| i.ty), Ok(wasmparser::TypeRef::Func(_))))
                    .count() as u32;
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                if body.range().contains(&offset) {
                    return Some(imported + index);
                }
                index += 1;
            }
            _ => {}
        }
    }
    None
}
