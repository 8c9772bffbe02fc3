//! The layers that share names without depending on each other.

/// The rewrite (xwasm-security) and the executor and host functions
/// (through xwasm-store) name the same globals and values without
/// depending on each other: they must agree.
#[test]
fn the_rewrite_and_the_runtime_agree_on_their_shared_names() {
    use xwasm::security::preprocess as rewrite;
    use xwasm::store;
    assert_eq!(rewrite::STACK_EXPORT, store::STACK_EXPORT);
    assert_eq!(rewrite::RESERVED_NAMES, store::RESERVED_EXPORTS);
    assert_eq!(rewrite::STACK_EXHAUSTED_MARK, store::STACK_EXHAUSTED_MARK);
    assert_eq!(rewrite::GAS_GLOBAL, store::GAS_GLOBAL_EXPORT);
    assert_eq!(rewrite::GAS_AT_INSTANTIATION, store::GAS_AT_INSTANTIATION);
}
