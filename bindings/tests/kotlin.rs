//! Runs the Kotlin (JVM) tests of the bindings against the mock: `tests/kotlin/BindingsTest.kt`,
//! compiled with kotlinc together with the generated sources, JNA and kotlinx-coroutines.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// kotlinc: `$KOTLINC`, else the one `.ci/install-tools` puts in `.tools/`.
fn kotlinc() -> Option<PathBuf> {
    let path = std::env::var_os("KOTLINC")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            support::workspace().join(".tools/kotlin/node_modules/kotlin-compiler/bin/kotlinc")
        });
    path.is_file().then_some(path)
}

/// The jar in `$ZP_JARS` (default `.tools/jars`) whose name starts with `prefix`.
fn jar(prefix: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ZP_JARS")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::workspace().join(".tools/jars"));
    let mut jars: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(prefix) && name.ends_with(".jar"))
        })
        .collect();
    jars.sort();
    jars.pop()
}

#[test]
fn kotlin_bindings_against_the_mock() {
    let java = Path::new("java");
    let (Some(kotlinc), Some(jna), Some(coroutines)) =
        (kotlinc(), jar("jna-"), jar("kotlinx-coroutines-core-jvm-"))
    else {
        support::skip("kotlinc, the JNA jar or the kotlinx-coroutines jar is missing");
        return;
    };
    if !support::runs(java, &["-version"]) {
        support::skip("no java on PATH");
        return;
    }
    let here = support::workspace().join("bindings/tests/kotlin");
    support::assert_readme_shows(&here.join("ReadmeExample.kt"));

    let dir = support::scratch("kotlin");
    let sources = dir.join("src");
    let library = support::cdylib();
    support::bindgen(&library, "kotlin", &sources);
    let generated = sources.join("zitadel/passkey/zitadel_passkey_ffi.kt");
    let test_jar = dir.join("bindings-test.jar");
    let classpath = std::env::join_paths([&jna, &coroutines]).expect("a classpath");

    let mut compile = Command::new(&kotlinc);
    compile
        .arg("-nowarn")
        .arg("-include-runtime")
        .arg("-classpath")
        .arg(&classpath)
        .arg("-d")
        .arg(&test_jar)
        .arg(&generated)
        .arg(here.join("ReadmeExample.kt"))
        .arg(here.join("BindingsTest.kt"));
    support::run("kotlinc", compile, Duration::from_secs(600));

    let mock = support::Mock::start();
    let mut run = Command::new(java);
    run.arg(format!(
        "-Djna.library.path={}",
        library.parent().expect("the library's directory").display()
    ))
    .arg("-classpath")
    .arg(std::env::join_paths([&test_jar, &jna, &coroutines]).expect("a classpath"))
    .arg("BindingsTestKt")
    .envs(mock.env());
    support::run("kotlin", run, Duration::from_secs(180));
    mock.stop();
}
