//! Generates the Swift sources, C header and modulemap on every test run, checks the API the
//! README's iOS snippet uses is there, and type-checks them with that snippet where a Swift
//! toolchain exists (a printed skip otherwise: none is reachable here or in CI).

mod support;

use std::io::Write;
use std::process::Command;
use std::time::Duration;

#[test]
fn swift_sources_are_generated_and_type_check_where_swift_exists() {
    let here = support::workspace().join("bindings/tests/swift");
    let snippet = here.join("ReadmeExample.swift");
    support::assert_readme_shows(&snippet);

    let dir = support::scratch("swift");
    support::bindgen(&support::cdylib(), "swift", &dir);
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let swift = read("ZitadelPasskey.swift");
    let header = read("ZitadelPasskeyFFI.h");
    let modulemap = read("ZitadelPasskeyFFI.modulemap");
    for api in [
        "public static func withToken(config: ClientConfig, token: String)",
        "public static func withTokenProvider(config: ClientConfig, provider: TokenProvider)",
        "open func addPasskeyLink(options: CallOptions? = nil)async throws  -> PasskeyLink",
        "public protocol TokenProvider: AnyObject, Sendable",
        "func token(refresh: Bool) async throws  -> String",
        "open class CancellationToken",
        "case OutcomeUnknown(",
        "CustomStringConvertible",
    ] {
        assert!(swift.contains(api), "the Swift sources lack `{api}`");
    }
    assert!(header.contains("uniffi_zitadel_passkey_ffi_fn_constructor_passkeyclient_with_token"));
    assert!(modulemap.contains("module ZitadelPasskeyFFI"));

    let has_swiftc = support::runs("swiftc".as_ref(), &["--version"]);
    if !has_swiftc {
        // Not a failure even in CI: no Swift toolchain is reachable there either.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: type-checking the Swift sources (no Swift toolchain: swiftc not on PATH)"
        );
        return;
    }
    // The generated module first, then the snippet that imports it.
    let module_map = format!(
        "-fmodule-map-file={}",
        dir.join("ZitadelPasskeyFFI.modulemap").display()
    );
    let mut module = Command::new("swiftc");
    module
        .args([
            "-emit-module",
            "-module-name",
            "ZitadelPasskey",
            "-Xcc",
            &module_map,
        ])
        .arg("-emit-module-path")
        .arg(dir.join("ZitadelPasskey.swiftmodule"))
        .arg("-I")
        .arg(&dir)
        .arg(dir.join("ZitadelPasskey.swift"));
    support::run("swiftc-module", module, Duration::from_secs(300));
    let mut typecheck = Command::new("swiftc");
    typecheck
        .args(["-typecheck", "-Xcc", &module_map])
        .arg("-I")
        .arg(&dir)
        .arg(&snippet);
    support::run("swiftc-snippet", typecheck, Duration::from_secs(300));
}
