//! Builds the filters in `filters/` for `wasm32-unknown-unknown`. Used by the
//! `cargo xtask filters` command and by build scripts that need the `.wasm`
//! files (tests, benchmarks), so there is one way to build them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The filter crates in `filters/Cargo.toml`'s `members`, minus the SDK.
pub fn filter_names(filters_dir: &Path) -> std::io::Result<Vec<String>> {
    let manifest = std::fs::read_to_string(filters_dir.join("Cargo.toml"))?;
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .unwrap_or_default();
    Ok(members
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty() && m != "sdk")
        .collect())
}

/// Builds every filter (release) and returns the folder holding the `.wasm`
/// files. Each filter is built by its own cargo run so that SDK features are
/// not unified across filters (`accept_all` has no staging window).
pub fn build_filters(filters_dir: &Path) -> Result<PathBuf, String> {
    let names =
        filter_names(filters_dir).map_err(|e| format!("reading filters/Cargo.toml: {e}"))?;
    for name in &names {
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(filters_dir).args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            name,
        ]);
        // A build script's environment describes the outer build: keep it out.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let outer = (key.starts_with("CARGO_") && key != "CARGO_HOME")
                || key.starts_with("RUSTC")
                || key.starts_with("RUSTFLAGS")
                || key.starts_with("DEP_")
                || [
                    "TARGET",
                    "HOST",
                    "OUT_DIR",
                    "OPT_LEVEL",
                    "PROFILE",
                    "DEBUG",
                    "NUM_JOBS",
                ]
                .contains(&key.as_ref());
            if outer {
                cmd.env_remove(key.as_ref());
            }
        }
        let status = cmd
            .status()
            .map_err(|e| format!("running cargo for filter {name}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building filter {name} failed ({status}); is the wasm32 target installed? run scripts/setup.sh"
            ));
        }
    }
    Ok(filters_dir.join("target/wasm32-unknown-unknown/release"))
}

/// The repository root, from this crate's manifest directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository root")
        .to_path_buf()
}
