//! The Kotlin bindings' JUnit tests (`tests/kotlin/BindingsTest.kt`) run in the Maven build of
//! `cargo xtask bindings kotlin` (`bindings/kotlin/pom.xml`, against the mock); here only what
//! needs no build: the README shows the example those tests run.

mod support;

#[test]
fn the_readme_shows_the_kotlin_example() {
    let here = support::workspace().join("bindings/tests/kotlin");
    support::assert_readme_shows(&here.join("ReadmeExample.kt"));
}
