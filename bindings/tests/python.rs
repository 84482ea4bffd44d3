//! The Python bindings' tests (`tests/python/`, pytest) run from the installed wheel in
//! `cargo xtask bindings python` (a fresh venv, against the mock); here only what needs no
//! wheel: the README shows the example those tests run.

mod support;

#[test]
fn the_readme_shows_the_python_example() {
    let here = support::workspace().join("bindings/tests/python");
    support::assert_readme_shows(&here.join("readme_example.py"));
}
