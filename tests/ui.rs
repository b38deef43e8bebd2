//! Compile-time behaviour of the macros: every case in `ui-tests/pass` must compile, every
//! case in `ui-tests/fail` must fail with exactly the checked-in `.stderr`.
//!
//! Gated to stable: compiler messages change between channels, and the toolchain is pinned in
//! `rust-toolchain.toml`. Regenerate snapshots with `TRYBUILD=overwrite cargo test --test ui`.

#[rustversion::stable]
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui-tests/pass/*.rs");
    cases.compile_fail("ui-tests/fail/*.rs");
}
