//! `cargo xtask bindings [kotlin|swift|python]...`: builds `zitadel-passkey-ffi` with the
//! size-optimised `release-small` profile, generates each language's sources from that
//! unstripped library with the crate's `uniffi-bindgen`, strips a copy (printing its size, at
//! most 4 MiB for the host), and lays out one package per language under `target/bindings/`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::project;

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

/// Builds the library once and lays out the packages of `languages` (all when empty).
pub fn run(languages: &[Language]) -> Result<()> {
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
    cargo(
        &root,
        &[
            "build",
            "--locked",
            "-p",
            "zitadel-passkey-ffi",
            "--bin",
            "uniffi-bindgen",
        ],
    )?;
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
            Language::Kotlin => kotlin(&root, &bindgen, &cdylib, &stripped, &dir)?,
            Language::Swift => swift(&root, &bindgen, &cdylib, &built, &dir)?,
            Language::Python => python(&root, &bindgen, &cdylib, &stripped, &dir)?,
        }
    }
    println!("bindings ready in {}", out.display());
    Ok(())
}

/// Kotlin: sources under `src/main/kotlin`, the host library where JNA finds it on the
/// classpath (`src/main/resources/<jna-platform>/`), and `jniLibs/<abi>/` for each Android
/// target that can be built here (with cargo-ndk).
fn kotlin(root: &Path, bindgen: &Path, cdylib: &Path, stripped: &Path, dir: &Path) -> Result<()> {
    let sources = dir.join("src/main/kotlin");
    generate(root, bindgen, cdylib, "kotlin", &sources)?;
    let resources = dir.join("src/main/resources").join(jna_platform());
    copy(stripped, &resources.join(dylib_name()))?;

    let jni_libs = dir.join("jniLibs");
    std::fs::create_dir_all(&jni_libs)?;
    let installed = installed_targets();
    let targets: Vec<&str> = ANDROID_ABIS
        .iter()
        .filter(|(_, target)| installed.iter().any(|t| t == target))
        .map(|(abi, _)| *abi)
        .collect();
    let has_ndk = Command::new(cargo_bin())
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
        return Ok(());
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

/// Python: a `zitadel_passkey` package holding the generated module and the stripped
/// library, checked by importing it and calling into the library.
fn python(root: &Path, bindgen: &Path, cdylib: &Path, stripped: &Path, dir: &Path) -> Result<()> {
    let package = dir.join("zitadel_passkey");
    generate(root, bindgen, cdylib, "python", &package)?;
    copy(stripped, &package.join(dylib_name()))?;
    std::fs::write(
        package.join("__init__.py"),
        "\"\"\"ZITADEL passkey links (uniffi bindings of the zitadel-passkey Rust SDK).\"\"\"\n\
         from .zitadel_passkey_ffi import *  # noqa: F401,F403\n",
    )?;
    let check = "import zitadel_passkey as z\n\
                 t = z.CancellationToken(); t.cancel(); assert t.is_cancelled()\n\
                 print('import zitadel_passkey: ok')\n";
    match Command::new("python3")
        .arg("-c")
        .arg(check)
        .env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => bail!("the Python package does not import: {status}"),
        Err(_) if std::env::var_os("CI").is_none() => {
            println!("skipped: importing the Python package (no python3 on PATH)");
            Ok(())
        }
        Err(error) => bail!("python3 is missing (CI is set): {error}"),
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

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(cargo_bin())
        .current_dir(root)
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed: {status}", args.join(" "));
    }
    Ok(())
}
