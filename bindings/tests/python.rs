//! Runs the Python (asyncio) tests of the bindings against the mock: `tests/python/test_bindings.py`.

mod support;

use std::process::Command;
use std::time::Duration;

#[test]
fn python_bindings_against_the_mock() {
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    if !support::runs(
        python.as_ref(),
        &["-c", "import sys; assert sys.version_info >= (3, 8)"],
    ) {
        support::skip("no python3 >= 3.8 on PATH (or $PYTHON)");
        return;
    }
    let here = support::workspace().join("bindings/tests/python");
    support::assert_readme_shows(&here.join("readme_example.py"));

    // The package as `cargo xtask bindings python` lays it out: zitadel_passkey/ with the
    // generated module, the library and an __init__ re-exporting the module.
    let dir = support::scratch("python");
    let package = dir.join("zitadel_passkey");
    std::fs::create_dir_all(&package).expect("create the package dir");
    let library = support::cdylib();
    support::bindgen(&library, "python", &package);
    let file_name = library.file_name().expect("a file name");
    std::fs::copy(&library, package.join(file_name)).expect("copy the library");
    std::fs::write(
        package.join("__init__.py"),
        "from .zitadel_passkey_ffi import *  # noqa: F401,F403\n",
    )
    .expect("write __init__.py");

    let mock = support::Mock::start();
    let mut command = Command::new(&python);
    command
        .arg("-u")
        .arg(here.join("test_bindings.py"))
        .env(
            "PYTHONPATH",
            std::env::join_paths([&dir, &here]).expect("paths"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(mock.env());
    support::run("python", command, Duration::from_secs(180));
    mock.stop();
}
