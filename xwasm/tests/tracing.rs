//! The VM's work as a node's tracing sees it. Alone in its test binary:
//! tracing caches each callsite's interest process-wide, so a test on
//! another thread without a subscriber could hide these spans.

use std::sync::Arc;
use xwasm::store::MemoryBackend;
use xwasm::{Address, ChainContext, Transaction, Vm};

const TOKEN: &str = include_str!("../../examples/contracts/token.wat");
const ALICE: Address = Address([0xa1; 32]);
const BOB: Address = Address([0xb0; 32]);
const CHAIN: ChainContext = ChainContext { block_height: 1, block_time_ms: 0 };

/// A tracing subscriber that keeps every span's name and fields.
#[derive(Default)]
struct Spans(std::sync::Mutex<Vec<(&'static str, std::collections::BTreeMap<String, String>)>>);

struct Fields<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
    }
}

impl tracing::Subscriber for Spans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut spans = self.0.lock().unwrap();
        let mut fields = Default::default();
        span.record(&mut Fields(&mut fields));
        spans.push((span.metadata().name(), fields));
        tracing::span::Id::from_u64(spans.len() as u64)
    }
    fn record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut spans = self.0.lock().unwrap();
        values.record(&mut Fields(&mut spans[id.into_u64() as usize - 1].1));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn deploys_compiles_and_calls_are_tracing_spans_with_their_outcome() {
    let spans = Arc::new(Spans::default());
    let (token, transfer_gas) = tracing::subscriber::with_default(spans.clone(), || {
        let vm = Vm::builder().backend(Arc::new(MemoryBackend::new())).build().unwrap();
        let wasm = wat::parse_str(TOKEN).unwrap();
        let deploy = Transaction::new(ALICE, 100_000_000, 100u64.to_le_bytes().to_vec());
        let token = vm.deploy(&wasm, &CHAIN, &deploy).unwrap().address.unwrap();
        let input = [BOB.0.as_slice(), &1u64.to_le_bytes()].concat();
        let outcome =
            vm.call(&token, "transfer", &CHAIN, &Transaction::new(ALICE, 1_000_000, input)).unwrap();
        (token, outcome.gas_used)
    });
    let spans = spans.0.lock().unwrap();
    let named = |name: &str| spans.iter().filter(|(n, _)| *n == name).map(|(_, f)| f).collect::<Vec<_>>();
    let deploy = named("xwasm.deploy");
    assert_eq!(deploy.len(), 1);
    assert_eq!(
        (deploy[0]["contract"].as_str(), deploy[0]["status"].as_str()),
        (token.to_hex().as_str(), "ok")
    );
    assert_eq!(deploy[0]["tier"], "compiled");
    let load = named("xwasm.load");
    assert_eq!((load.len(), load[0]["tier"].as_str()), (1, "compiled"));
    let compile = named("xwasm.compile");
    assert_eq!((compile.len(), compile[0]["tier"].as_str()), (1, "optimizing"));
    assert!(compile[0]["ms"].parse::<f64>().unwrap() > 0.0);
    let call = named("xwasm.call");
    assert_eq!(call.len(), 1);
    assert_eq!(call[0]["method"], "transfer");
    assert_eq!(call[0]["contract"], token.to_hex());
    assert_eq!((call[0]["tier"].as_str(), call[0]["status"].as_str()), ("memory", "ok"));
    assert_eq!(call[0]["gas"], transfer_gas.to_string());
}

/// Two `store_code`s of the same new code at once (`Loader::precompile`
/// on two threads) compile it once: the second waits for the first and
/// finds its code staged.
#[test]
fn two_precompiles_of_the_same_new_code_compile_it_once() {
    let spans = Arc::new(Spans::default());
    let vm = Vm::builder().config(xwasm::VmConfig { tiered: true, ..Default::default() }).build().unwrap();
    let wasm = wat::parse_str(TOKEN).unwrap();
    let hash = xwasm::security::code_hash(&wasm);
    let both = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                tracing::subscriber::with_default(spans.clone(), || {
                    both.wait();
                    vm.loader().precompile(hash, &wasm, xwasm::loader::Check::Full).unwrap();
                })
            });
        }
    });
    vm.loader().wait_for_tier_up(None);
    let spans = spans.0.lock().unwrap();
    let baseline = spans
        .iter()
        .filter(|(name, fields)| {
            *name == "xwasm.compile" && fields.get("tier").is_some_and(|t| t == "baseline")
        })
        .count();
    assert_eq!(baseline, 1, "baseline compiles");
}
