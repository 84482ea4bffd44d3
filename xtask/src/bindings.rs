//! `cargo xtask bindings [kotlin|swift|python]...`: builds `zitadel-passkey-ffi` with the
//! size-optimised `release-small` profile, generates each language's sources from that
//! unstripped library with the workspace's `uniffi-bindgen` (`bindings/bindgen/`), strips a copy
//! (printing its size, at most 4 MiB for the host), and lays out one package per language under
//! `target/bindings/`.

use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::mobile_layout;
use crate::mock_process::MockProcess;
use crate::project::{self, cargo};

/// The largest stripped host library accepted.
const MAX_STRIPPED_BYTES: u64 = 4 * 1024 * 1024;
/// The cargo profile of the shipped library (opt-level z, LTO, one codegen unit, panic = unwind).
const PROFILE: &str = "release-small";
/// The library's crate name (the file is `lib<name>.so` / `.dylib` / `.a`).
const LIB: &str = "zitadel_passkey_ffi";
/// Android ABIs and their Rust targets, for the `jniLibs` layout.
const ANDROID_ABIS: [(&str, &str); 4] = [
    ("arm64-v8a", "aarch64-linux-android"),
    ("armeabi-v7a", "armv7-linux-androideabi"),
    ("x86_64", "x86_64-linux-android"),
    ("x86", "i686-linux-android"),
];

/// A language to generate bindings for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Language {
    /// Kotlin sources, the JVM resource layout and Android's jniLibs.
    Kotlin,
    /// Swift sources, C header, modulemap and the static library.
    Swift,
    /// A Python package.
    Python,
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Language::Kotlin => "kotlin",
            Language::Swift => "swift",
            Language::Python => "python",
        })
    }
}

/// Whether laying out a package also runs its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tests {
    /// pytest on the installed wheel, the Kotlin package's JUnit tests and a resolution of its
    /// Maven coordinates, each against a mock (`cargo xtask bindings`, CI).
    Run,
    /// Only the packages: what `cargo xtask bench` needs, without the debug mock and the test
    /// builds those runs take (about two minutes of a clean clone's build).
    Skip,
}

/// Builds the library once and lays out the packages of `languages` (all when empty).
pub fn run(languages: &[Language], tests: Tests) -> Result<()> {
    let languages = if languages.is_empty() {
        vec![Language::Kotlin, Language::Swift, Language::Python]
    } else {
        languages.to_vec()
    };
    let root = project::root();
    let out = root.join("target/bindings");

    // One build gives the cdylib and, for Swift, the staticlib.
    let crate_types = if languages.contains(&Language::Swift) {
        "cdylib,staticlib"
    } else {
        "cdylib"
    };
    step(&format!(
        "building {LIB} ({crate_types}, profile {PROFILE})"
    ));
    cargo(
        &root,
        &[
            "rustc",
            "--locked",
            "-p",
            "zitadel-passkey-ffi",
            "--lib",
            "--profile",
            PROFILE,
            "--crate-type",
            crate_types,
        ],
    )?;
    let built = root.join("target").join(PROFILE);
    let cdylib = built.join(dylib_name());
    ensure_file(&cdylib)?;

    step("building uniffi-bindgen");
    // Built as maturin runs it (`cargo run --bin uniffi-bindgen` at the workspace root, so with
    // the features of every member unified): with `-p`, its dependencies' features differed and
    // maturin compiled them all again (about two minutes of a clean clone's build).
    cargo(&root, &["build", "--locked", "--bin", "uniffi-bindgen"])?;
    let bindgen = root
        .join("target/debug")
        .join(format!("uniffi-bindgen{}", std::env::consts::EXE_SUFFIX));

    let stripped = out.join("lib").join(dylib_name());
    strip(&cdylib, &stripped)?;
    let size = std::fs::metadata(&stripped)?.len();
    println!(
        "stripped host library: {} ({size} bytes, {:.2} MiB; limit 4 MiB)",
        stripped.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    if size > MAX_STRIPPED_BYTES {
        bail!("the stripped library is {size} bytes, over the 4 MiB budget");
    }

    for language in languages {
        let dir = out.join(language.to_string());
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        step(&format!("{language} -> {}", dir.display()));
        match language {
            Language::Kotlin => kotlin(&root, &bindgen, &cdylib, &stripped, &dir, tests)?,
            Language::Swift => swift(&root, &bindgen, &cdylib, &built, &dir)?,
            Language::Python => python(&root, &dir, tests)?,
        }
    }
    println!("bindings ready in {}", out.display());
    Ok(())
}

/// Where uniffi's Kotlin declares the callback that resumes a suspended call.
const KOTLIN_CONTINUATION: &str = "internal object uniffiRustFutureContinuationCallbackImpl: \
                                   UniffiRustFutureContinuationCallback {\n";

/// What goes first in that object's body.
const KOTLIN_KEEP_ATTACHED: &str = "    init {
        // Added by `cargo xtask bindings` (xtask/src/bindings.rs, keep_wake_threads_attached).
        Native.setCallbackThreadInitializer(
            this,
            com.sun.jna.CallbackThreadInitializer(true, false, \"zitadel-passkey-wake\"),
        )
    }
";

/// uniffi's Kotlin resumes a suspended call through a JNA callback on the library's thread, and
/// JNA attaches that thread to the JVM before each callback and detaches it after, which makes a
/// new `java.lang.Thread` for every wake-up (about 170 µs a call here, BENCHMARKS.md). uniffi has
/// no hook for this, so the generated callback object gets an initializer that asks JNA to keep
/// the threads calling it attached (as daemons; JNA detaches them when they end). Fails when a
/// uniffi update changes the declaration, rather than silently dropping the fix.
fn keep_wake_threads_attached(kotlin: &Path) -> Result<()> {
    let text = std::fs::read_to_string(kotlin).with_context(|| kotlin.display().to_string())?;
    let Some(at) = text.find(KOTLIN_CONTINUATION) else {
        bail!(
            "{} has no `{}`: uniffi's Kotlin changed; update keep_wake_threads_attached",
            kotlin.display(),
            KOTLIN_CONTINUATION.trim_end()
        );
    };
    let body = at + KOTLIN_CONTINUATION.len();
    let patched = format!("{}{KOTLIN_KEEP_ATTACHED}{}", &text[..body], &text[body..]);
    std::fs::write(kotlin, patched).with_context(|| kotlin.display().to_string())
}

/// Kotlin: sources under `src/main/kotlin`, the host library where JNA finds it on the
/// classpath (`src/main/resources/<jna-platform>/`), and `jniLibs/<abi>/` for each Android
/// target that can be built here (with cargo-ndk).
fn kotlin(
    root: &Path,
    bindgen: &Path,
    cdylib: &Path,
    stripped: &Path,
    dir: &Path,
    tests: Tests,
) -> Result<()> {
    let sources = dir.join("src/main/kotlin");
    generate(root, bindgen, cdylib, "kotlin", &sources)?;
    keep_wake_threads_attached(&sources.join("zitadel/passkey/zitadel_passkey_ffi.kt"))?;
    let resources = dir.join("src/main/resources").join(jna_platform());
    copy(stripped, &resources.join(dylib_name()))?;
    maven_install(root, tests)?;

    let jni_libs = dir.join("jniLibs");
    std::fs::create_dir_all(&jni_libs)?;
    let aar = dir.join("aar");
    let installed = installed_targets();
    let targets: Vec<&str> = ANDROID_ABIS
        .iter()
        .filter(|(_, target)| installed.iter().any(|t| t == target))
        .map(|(abi, _)| *abi)
        .collect();
    let has_ndk = Command::new(project::cargo_bin())
        .args(["ndk", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if targets.is_empty() || !has_ndk {
        println!(
            "skipped: Android jniLibs (needs cargo-ndk, the Android NDK and `rustup target add {}`; \
             steps in README.md, section Android)",
            ANDROID_ABIS.map(|(_, t)| t).join(" ")
        );
        return mobile_layout::write_aar_layout(&aar, &jni_libs);
    }
    let mut args = vec!["ndk"];
    for abi in &targets {
        args.extend(["-t", abi]);
    }
    let jni = jni_libs.to_string_lossy().into_owned();
    args.extend([
        "-o",
        &jni,
        "build",
        "--locked",
        "-p",
        "zitadel-passkey-ffi",
        "--lib",
        "--profile",
        PROFILE,
    ]);
    cargo(root, &args)?;
    println!("Android jniLibs built for {}", targets.join(", "));
    mobile_layout::write_aar_layout(&aar, &jni_libs)?;
    Ok(())
}

/// The Kotlin package's Maven coordinates (`bindings/kotlin/pom.xml`, README.md).
const MAVEN_COORDINATES: &str = "zitadel.passkey:zitadel-passkey:0.1.0";

/// The Maven project `bindings/kotlin/pom.xml` over what [`kotlin`] generated: compiles it, runs
/// the JUnit tests (`bindings/tests/kotlin/`) against the mock unless `tests` is
/// [`Tests::Skip`], and installs the jar (with the native library inside) into the local Maven
/// repository.
fn maven_install(root: &Path, tests: Tests) -> Result<()> {
    let has_maven = Command::new("mvn")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_maven {
        if std::env::var_os("CI").is_some() {
            bail!("mvn is missing (CI is set)");
        }
        println!("skipped: the Maven build and the Kotlin tests (no mvn on PATH)");
        return Ok(());
    }
    let mut install = Command::new("mvn");
    project::without_cargo_library_path(&mut install)
        .args(["-B", "-q", "install", "-f"])
        .arg(root.join("bindings/kotlin/pom.xml"));
    let (mock, what) = match tests {
        Tests::Run => {
            let mock = TestMock::start(root)?;
            install.envs(mock.env());
            (Some(mock), "mvn install (the Kotlin package and its tests)")
        }
        // maven.test.skip: the tests are neither compiled nor run.
        Tests::Skip => {
            install.arg("-Dmaven.test.skip=true");
            (None, "mvn install (the Kotlin package, tests skipped)")
        }
    };
    let result = project::run_ok(&mut install, what);
    drop(mock);
    result?;
    if tests == Tests::Skip {
        println!(
            "Kotlin: {MAVEN_COORDINATES} installed into the local Maven repository (tests skipped)"
        );
        return Ok(());
    }
    // What a dependent build (Maven, or Gradle with mavenLocal()) does with the README's
    // coordinates: resolve the installed jar and its POM's dependencies.
    project::run_ok(
        project::without_cargo_library_path(&mut Command::new("mvn")).args([
            "-B",
            "-q",
            "dependency:get",
            &format!("-Dartifact={MAVEN_COORDINATES}"),
            "-Dtransitive=true",
        ]),
        "resolving the installed jar by its coordinates",
    )?;
    println!(
        "Kotlin: JUnit tests passed; {MAVEN_COORDINATES} installed into the local Maven repository and resolvable"
    );
    Ok(())
}

/// Swift: `Sources/ZitadelPasskey/*.swift`, `include/` with the C header and a
/// `module.modulemap` (the layout an XCFramework's headers need), and the host staticlib in
/// `lib/`. Type-checked with the README example when a Swift toolchain exists.
fn swift(root: &Path, bindgen: &Path, cdylib: &Path, built: &Path, dir: &Path) -> Result<()> {
    let generated = dir.join("generated");
    generate(root, bindgen, cdylib, "swift", &generated)?;
    let sources = dir.join("Sources/ZitadelPasskey");
    let include = dir.join("include");
    for entry in std::fs::read_dir(&generated)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let target = if name.ends_with(".swift") {
            sources.join(&name)
        } else if name.ends_with(".h") {
            include.join(&name)
        } else if name.ends_with(".modulemap") {
            include.join("module.modulemap")
        } else {
            continue;
        };
        copy(&path, &target)?;
    }
    std::fs::remove_dir_all(&generated)?;
    let staticlib = built.join(format!("lib{LIB}.a"));
    ensure_file(&staticlib)?;
    copy(&staticlib, &dir.join("lib").join(format!("lib{LIB}.a")))?;
    std::fs::write(dir.join("Package.swift"), mobile_layout::package_swift())?;

    let swiftc = Command::new("swiftc")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !swiftc {
        println!("skipped: compiling the Swift sources (no Swift toolchain: swiftc not on PATH)");
        return Ok(());
    }
    // The generated module first, then the README example that imports it.
    let module = Command::new("swiftc")
        .args(["-emit-module", "-module-name", "ZitadelPasskey"])
        .arg("-emit-module-path")
        .arg(dir.join("ZitadelPasskey.swiftmodule"))
        .arg("-I")
        .arg(&include)
        .arg(sources.join("ZitadelPasskey.swift"))
        .status()
        .context("running swiftc")?;
    if !module.success() {
        bail!("the generated Swift sources do not compile");
    }
    let example = Command::new("swiftc")
        .arg("-typecheck")
        .arg("-I")
        .arg(&include)
        .arg("-I")
        .arg(dir)
        .arg(root.join("bindings/tests/swift/ReadmeExample.swift"))
        .status()
        .context("running swiftc")?;
    if !example.success() {
        bail!("the README's Swift example does not type-check");
    }
    println!("Swift sources and the README example type-check");
    Ok(())
}

/// Python: the wheel maturin builds from `bindings/pyproject.toml` (it reuses the library just
/// built, same profile, and runs the workspace's uniffi-bindgen on it), with its library then
/// stripped, installed into a fresh venv and tested there with pytest against the mock (unless
/// `tests` is [`Tests::Skip`]).
fn python(root: &Path, dir: &Path, tests: Tests) -> Result<()> {
    let Some(tools) = project::tools_python_or_skip(root, "the Python wheel")? else {
        return Ok(());
    };
    let built = dir.join("built");
    project::run_ok(
        Command::new(&tools)
            .current_dir(root.join("bindings"))
            .args(["-m", "maturin", "build", "--locked", "--quiet", "--out"])
            .arg(&built),
        "maturin build",
    )?;
    let wheel = project::single_entry(&built, ".whl")?;

    // maturin's own `strip` would strip the library before uniffi-bindgen reads its metadata
    // symbols, so the wheel is unpacked, its library stripped, and packed again (which
    // rewrites the wheel's RECORD of hashes).
    let unpacked = dir.join("unpacked");
    project::run_ok(
        Command::new(&tools)
            .args(["-m", "wheel", "unpack", "--dest"])
            .arg(&unpacked)
            .arg(&wheel),
        "wheel unpack",
    )?;
    let tree = project::single_entry(&unpacked, "")?;
    let library = tree
        .join("zitadel_passkey/zitadel_passkey_ffi")
        .join(dylib_name());
    let stripped = dir.join(dylib_name());
    strip(&library, &stripped)?;
    std::fs::rename(&stripped, &library)?;
    std::fs::remove_file(&wheel)?;
    project::run_ok(
        Command::new(&tools)
            .args(["-m", "wheel", "pack", "--dest-dir"])
            .arg(&built)
            .arg(&tree),
        "wheel pack",
    )?;
    let wheel = project::single_entry(&built, ".whl")?;
    println!(
        "Python wheel: {} ({} bytes)",
        wheel.display(),
        std::fs::metadata(&wheel)?.len()
    );

    if tests == Tests::Skip {
        return Ok(());
    }
    // Installed as a user installs it: a fresh venv, pip, and the tests run from there (the
    // source tree is not on the path).
    let python = project::fresh_venv(&dir.join("venv"), &[wheel.as_os_str(), PYTEST.as_ref()])?;
    let mock = TestMock::start(root)?;
    let tests = root.join("bindings/tests/python");
    let result = project::run_ok(
        Command::new(&python)
            .current_dir(dir)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(&tests)
            .env("PYTHONPATH", &tests)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(mock.env()),
        "pytest",
    );
    drop(mock);
    result
}

/// The unpacked (stripped) Python wheel, a directory to put on `PYTHONPATH`.
pub fn python_package() -> Result<std::path::PathBuf> {
    project::single_entry(&project::root().join("target/bindings/python/unpacked"), "")
}

/// pytest for the wheel's tests, installed into their fresh venv next to the wheel.
const PYTEST: &str = "pytest==8.4.2";

/// The mock binary (`target/debug`, built if needed) with the users the binding tests expect,
/// stopped when dropped.
struct TestMock(MockProcess);

impl TestMock {
    const TOKEN: &str = "binding-test-token-0123456789";
    const NO_USER_TOKEN: &str = "binding-test-no-user-token-0123";
    const USER_ID: &str = "312909075211944344";
    const ORG_ID: &str = "312909075211878808";
    /// The OAuth client the sign-in tests use (the strict mock takes only it).
    const CLIENT_ID: &str = "binding-test-app";

    fn start(root: &Path) -> Result<TestMock> {
        cargo(
            root,
            &[
                "build",
                "--locked",
                "--workspace",
                "--bin",
                "zitadel-passkey-mock",
            ],
        )?;
        let users = [
            // Sign-in tests poll every second instead of ZITADEL's five.
            "--device-interval".to_owned(),
            "1".to_owned(),
            "--client-id".to_owned(),
            Self::CLIENT_ID.to_owned(),
            "--strict".to_owned(),
            "--user".to_owned(),
            format!("{}={}@{}", Self::TOKEN, Self::USER_ID, Self::ORG_ID),
            "--user".to_owned(),
            format!("{}=@{}", Self::NO_USER_TOKEN, Self::ORG_ID),
        ];
        let binary = root.join("target/debug/zitadel-passkey-mock");
        MockProcess::start(&binary, &users).map(TestMock)
    }

    /// The environment the binding tests read.
    fn env(&self) -> [(&'static str, String); 6] {
        [
            ("ZP_MOCK_URL", self.0.url().to_owned()),
            ("ZP_TOKEN", Self::TOKEN.into()),
            ("ZP_USER_ID", Self::USER_ID.into()),
            ("ZP_ORG_ID", Self::ORG_ID.into()),
            ("ZP_NO_USER_TOKEN", Self::NO_USER_TOKEN.into()),
            ("ZP_CLIENT_ID", Self::CLIENT_ID.into()),
        ]
    }
}

/// Runs uniffi-bindgen on the unstripped library (it reads uniffi's metadata symbols).
fn generate(root: &Path, bindgen: &Path, cdylib: &Path, language: &str, out: &Path) -> Result<()> {
    let status = Command::new(bindgen)
        .current_dir(root)
        .args([
            "generate",
            "--no-format",
            "--language",
            language,
            "--out-dir",
        ])
        .arg(out)
        .arg(cdylib)
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running {}", bindgen.display()))?;
    if !status.success() {
        bail!("uniffi-bindgen failed for {language}");
    }
    Ok(())
}

/// Copies `from` to `to` stripped of its symbol table and debug info (dynamic symbols stay).
fn strip(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let flag = if cfg!(target_os = "macos") {
        "-x"
    } else {
        "--strip-all"
    };
    for tool in ["strip", "llvm-strip"] {
        let status = Command::new(tool)
            .arg(flag)
            .arg("-o")
            .arg(to)
            .arg(from)
            .status();
        if status.is_ok_and(|s| s.success()) {
            return Ok(());
        }
    }
    bail!(
        "neither strip nor llvm-strip could strip {}",
        from.display()
    )
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn ensure_file(path: &Path) -> Result<()> {
    if !path.is_file() {
        bail!("{} was not built", path.display());
    }
    Ok(())
}

/// `libzitadel_passkey_ffi.so` (or `.dylib`, `.dll`) on this host.
pub fn dylib_name() -> String {
    format!(
        "{}{LIB}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// JNA's resource prefix for this host (`linux-x86-64`, `darwin-aarch64`, ...).
fn jna_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        "windows" => "win32",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86-64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// The Rust targets rustup has installed (none when rustup is absent).
fn installed_targets() -> Vec<String> {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

#[cfg(test)]
mod tests {
    use super::MAVEN_COORDINATES;
    use crate::project;

    #[test]
    fn the_pom_and_the_readme_name_the_coordinates_of_the_workspace_version() {
        let mut parts = MAVEN_COORDINATES.split(':');
        let (group, artifact, version) = (parts.next(), parts.next(), parts.next());
        assert_eq!(
            version,
            Some(env!("CARGO_PKG_VERSION")),
            "the workspace's version"
        );
        let pom = std::fs::read_to_string(project::root().join("bindings/kotlin/pom.xml")).unwrap();
        for (tag, value) in [
            ("groupId", group),
            ("artifactId", artifact),
            ("version", version),
        ] {
            let element = format!("<{tag}>{}</{tag}>", value.unwrap());
            assert!(pom.contains(&element), "pom.xml must declare {element}");
        }
        let readme = std::fs::read_to_string(project::root().join("README.md")).unwrap();
        assert!(readme.contains(&format!("implementation(\"{MAVEN_COORDINATES}\")")));
    }
}
