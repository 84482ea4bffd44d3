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
