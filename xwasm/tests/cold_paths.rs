//! The cold paths a node lives on: pre-warming stored code, a cold
//! compile that does not hold up calls to cached code, and the disk
//! tier's hit that reads no operators giving the same results.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use xwasm::cosmwasm::{Bech32Api, BlockEnv};
use xwasm::{CodeSource, CosmwasmMessage, Status, Vm};

const GAS: u64 = 2_000_000_000;
const DEPLOY_GAS: u64 = 1_000_000_000_000;

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn addr(name: &str) -> String {
    Bech32Api::default().addr_make(name)
}

fn vm(backend: Arc<dyn xwasm::store::StateBackend>, cache: &std::path::Path) -> Vm {
    Vm::builder().backend(backend).cache_dir(cache).build().unwrap()
}

/// Deploys hackatom: its address.
fn hackatom(vm: &Vm) -> xwasm::Address {
    let init = format!(r#"{{"verifier":"{}","beneficiary":"{}"}}"#, addr("v"), addr("b"));
    let message = CosmwasmMessage::new(addr("creator"), init.as_bytes(), DEPLOY_GAS);
    let deployed = vm.cosmwasm_instantiate(&corpus("hackatom.wasm"), &message, None).unwrap();
    assert_eq!(deployed.outcome.status, Status::Ok, "{:?}", deployed.outcome.error);
    deployed.outcome.address.unwrap()
}

fn query(vm: &Vm, address: &xwasm::Address) -> (Vec<u8>, xwasm::GasReport) {
    let done = vm.cosmwasm_query(address, br#"{"verifier":{}}"#, &BlockEnv::default(), GAS).unwrap();
    (done.result.expect("an answer"), done.gas_report)
}

#[test]
fn warming_loads_stored_code_from_disk_or_compiles_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn xwasm::store::StateBackend> = Arc::new(xwasm::store::MemoryBackend::new());
    let first = vm(backend.clone(), &dir.path().join("cache"));
    let address = hackatom(&first);
    let expected = query(&first, &address);
    let hashes = xwasm::chain::code_hashes(backend.as_ref()).unwrap();
    assert_eq!(hashes.len(), 1);

    // A node restarting: a new VM over the same state and cache folder.
    let restarted = vm(backend.clone(), &dir.path().join("cache"));
    let done = AtomicUsize::new(0);
    let warmed = restarted.warm(&hashes, 2, &|| {
        done.fetch_add(1, Ordering::Relaxed);
    });
    assert!(matches!(warmed[..], [Ok(CodeSource::Disk(_))]), "{warmed:?}");
    assert_eq!(done.load(Ordering::Relaxed), 1, "progress after each code");
    let before = restarted.cache_stats();
    // The disk tier's hit read the description kept beside the artifact:
    // the same answer and gas as the VM that compiled it.
    assert_eq!(query(&restarted, &address), expected);
    assert_eq!(restarted.cache_stats().memory_hits, before.memory_hits + 1, "warm: the call hits memory");

    // An empty cache folder: warming compiles.
    let fresh = vm(backend.clone(), &dir.path().join("other cache"));
    let warmed = fresh.warm(&hashes, 1, &|| {});
    assert!(matches!(warmed[..], [Ok(CodeSource::Compiled(_))]), "{warmed:?}");
    assert_eq!(query(&fresh, &address), expected);

    // Code that is not stored is an error of its own; the rest warm.
    let warmed = fresh.warm(&[[9; 32], hashes[0]], 2, &|| {});
    assert!(warmed[0].as_ref().unwrap_err().to_string().contains("no code with hash 0909"), "{warmed:?}");
    assert!(warmed[1].is_ok());
}

#[test]
fn a_cold_compile_does_not_hold_up_calls_to_cached_code() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn xwasm::store::StateBackend> = Arc::new(xwasm::store::MemoryBackend::new());
    let vm = vm(backend, dir.path());
    let address = hackatom(&vm);
    let expected = query(&vm, &address);
    let (compiling, compiled, during) = (AtomicBool::new(false), AtomicBool::new(false), AtomicUsize::new(0));
    let big = corpus("ibc_reflect.wasm");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            compiling.store(true, Ordering::SeqCst);
            let message =
                CosmwasmMessage::new(addr("creator"), br#"{"reflect_code_id":1}"#.as_slice(), DEPLOY_GAS);
            let deployed = vm.cosmwasm_instantiate(&big, &message, None).unwrap();
            assert_eq!(deployed.outcome.status, Status::Ok, "{:?}", deployed.outcome.error);
            compiled.store(true, Ordering::SeqCst);
        });
        scope.spawn(|| {
            while !compiling.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            while !compiled.load(Ordering::SeqCst) {
                assert_eq!(query(&vm, &address), expected);
                if !compiled.load(Ordering::SeqCst) {
                    during.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    });
    // A compile holding a lock that the calls wait for would let none finish.
    assert!(during.load(Ordering::SeqCst) >= 1, "no call finished while another contract compiled");
}

/// Counts reads of stored code: a load that finds its artifact and the
/// description beside it reads no code.
struct CountingCodeReads(xwasm::store::MemoryBackend, AtomicUsize);

impl xwasm::store::StateBackend for CountingCodeReads {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, xwasm::store::StateError> {
        if key.starts_with(xwasm::store::keys::CODE_PREFIX) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        self.0.get(key)
    }
    fn contains(&self, key: &[u8]) -> Result<bool, xwasm::store::StateError> {
        self.0.contains(key)
    }
    fn apply(&self, changes: &xwasm::store::ChangeSet) -> Result<(), xwasm::store::StateError> {
        self.0.apply(changes)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<xwasm::store::Entries, xwasm::store::StateError> {
        self.0.scan_prefix(prefix)
    }
}

/// `xwasm precompile`'s way into the disk tier (the loader's rewrite, a
/// batch compile, the artifact stored with the loader's description of
/// the code): a node that finds it loads the stored code without reading
/// it, and answers as the VM that compiled it itself.
#[test]
fn a_precompiled_artifact_loads_without_reading_the_code() {
    use xwasm::cache::{ArtifactCache, ArtifactStore};
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(CountingCodeReads(xwasm::store::MemoryBackend::new(), AtomicUsize::new(0)));
    let deployer = vm(backend.clone(), &dir.path().join("deployer's cache"));
    let address = hackatom(&deployer);
    let expected = query(&deployer, &address);

    // Precompiled before the node starts, as an operator would.
    let cache = dir.path().join("precompiled");
    let precompiler = vm(backend.clone(), &dir.path().join("unused"));
    let wasm = corpus("hackatom.wasm");
    let namespace = xwasm::artifact_namespace(precompiler.engine(), precompiler.policy());
    let store = ArtifactStore::open(&cache, namespace.clone(), 1 << 30).unwrap();
    // One pass of the checks gives what the separate ones give, for a
    // CosmWasm contract and for native code.
    let native = wat::parse_str(include_str!("../../examples/contracts/token.wat")).unwrap();
    for code in [&wasm, &native] {
        let (rewritten, sidecar) = precompiler.loader().prepare_for_disk(code).unwrap();
        assert_eq!(rewritten, precompiler.rewrite_for_compile(code).unwrap());
        assert_eq!(sidecar, precompiler.loader().sidecar_for(code).unwrap());
    }
    let (rewritten, sidecar) = precompiler.loader().prepare_for_disk(&wasm).unwrap();
    let artifact = xwasm::aot::precompile(precompiler.engine(), &rewritten).unwrap();
    store.insert_with_sidecar(&xwasm::security::code_hash(&wasm), &artifact, &sidecar);

    let node = vm(backend.clone(), &cache);
    let reads = backend.1.load(Ordering::SeqCst);
    assert_eq!(query(&node, &address), expected);
    assert_eq!(node.cache_stats().disk_hits, 1, "{:?}", node.cache_stats());
    assert_eq!(backend.1.load(Ordering::SeqCst), reads, "the code was read: the description was not used");

    // Without the description, the same artifact is used, and the code
    // is read to describe it.
    let bare = dir.path().join("bare");
    let store = ArtifactStore::open(&bare, namespace, 1 << 30).unwrap();
    store.insert(&xwasm::security::code_hash(&wasm), &artifact);
    let node = vm(backend.clone(), &bare);
    assert_eq!(query(&node, &address), expected);
    assert_eq!(node.cache_stats().disk_hits, 1);
    assert!(backend.1.load(Ordering::SeqCst) > reads);
}

/// libwasmvm's `store_code` on a tiered VM: the caller waits for the
/// checks and the baseline compile only. The baseline waits aside (the
/// memory tier stays as it was) until the first load takes it, as it
/// would an artifact from disk; the optimizing compile's artifact lands
/// on disk in the background and replaces the baseline in memory. Without
/// a baseline tier, the artifact is on disk when the call returns.
#[test]
fn precompiled_code_waits_aside_until_its_first_load() {
    use xwasm::loader::{Check, LoadError};
    let wasm: Arc<[u8]> = corpus("hackatom.wasm").into();
    let hash = xwasm::security::code_hash(&wasm);
    let unread = || -> Result<Arc<[u8]>, LoadError> { panic!("the code was read again") };
    for tiered in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let config = xwasm::VmConfig { tiered, ..Default::default() };
        let build = || Vm::builder().config(config.clone()).cache_dir(dir.path()).build().unwrap();
        let vm = build();
        let loader = vm.loader();
        loader.precompile(hash, &wasm, Check::Full).unwrap();
        assert_eq!(loader.memory_usage(), (0, 0), "the memory tier is left as it was");
        let (code, source) = loader.load(hash, unread, Check::Stored).unwrap();
        assert!(matches!(source, CodeSource::Disk(_)), "{source:?}");
        assert_eq!(code.baseline, tiered, "the staged baseline, or the artifact on disk");
        loader.wait_for_tier_up(None);
        let (code, source) = loader.load(hash, unread, Check::Stored).unwrap();
        assert_eq!((source, code.baseline), (CodeSource::Memory, false), "optimized in place");
        // Stored again: nothing compiles, and nothing is staged.
        loader.precompile(hash, &wasm, Check::Full).unwrap();
        assert_eq!(loader.memory_usage().0, 1);
        // The artifact is on disk for a node restarting on the folder.
        let restarted = build();
        let (code, source) = restarted.loader().load(hash, unread, Check::Stored).unwrap();
        assert!(matches!(source, CodeSource::Disk(_)) && !code.baseline, "{source:?}");
    }
}
