//! Replays every committed seed (`corpus/<target>/`) and every input that once broke a target
//! (`regressions/<target>/`) through the targets, so what the fuzzer found stays fixed without
//! libFuzzer in the ordinary test run.

use std::path::Path;

#[test]
fn every_seed_and_regression_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut replayed = 0;
    for (name, _) in zitadel_passkey_fuzz::TARGETS {
        let mut seeds = 0;
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a corpus entry").path();
                let data = std::fs::read(&path).expect("a corpus file");
                eprintln!("{name}: {}", path.display());
                zitadel_passkey_fuzz::run(name, &data);
                seeds += 1;
            }
        }
        assert!(seeds > 0, "target {name} has no committed seed");
        replayed += seeds;
    }
    eprintln!("replayed {replayed} inputs");
}

/// `cargo xtask fuzz` runs the binaries the manifest lists, the replay above the functions in
/// `TARGETS`: both lists must be the same, and each binary must call its own function.
#[test]
fn every_target_has_one_fuzz_binary_and_no_binary_is_unlisted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut binaries: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"'))
        .filter(|name| *name != "zitadel-passkey-fuzz")
        .collect();
    let mut targets: Vec<&str> = zitadel_passkey_fuzz::TARGETS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    binaries.sort_unstable();
    targets.sort_unstable();
    assert_eq!(binaries, targets, "fuzz/Cargo.toml's [[bin]]s and TARGETS");
    for name in targets {
        let source = std::fs::read_to_string(root.join(format!("fuzz_targets/{name}.rs")))
            .unwrap_or_else(|e| panic!("fuzz_targets/{name}.rs: {e}"));
        assert!(
            source.contains(&format!("run(\"{name}\"")),
            "fuzz_targets/{name}.rs does not run target {name}:\n{source}"
        );
    }
}
