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

/// Creates `filters/NAME/` from the template (a port-blocking filter) and
/// adds it to the filters workspace. Returns the new `src/lib.rs`.
pub fn new_filter(filters_dir: &Path, name: &str) -> Result<PathBuf, String> {
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(format!(
            "filter name `{name}` must be lower-case letters, digits and _"
        ));
    }
    let dir = filters_dir.join(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let manifest_path = filters_dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| e.to_string())?;
    let manifest = manifest.replacen(
        "members = [\n",
        &format!("members = [\n    \"{name}\",\n"),
        1,
    );
    let io = |e: std::io::Error| format!("creating {}: {e}", dir.display());
    std::fs::create_dir_all(dir.join("src")).map_err(io)?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion.workspace = true\nedition.workspace = true\n\
             license.workspace = true\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
             [dependencies]\nwasmnf-sdk.workspace = true\n"
        ),
    )
    .map_err(io)?;
    let lib = dir.join("src/lib.rs");
    std::fs::write(&lib, TEMPLATE).map_err(io)?;
    std::fs::write(&manifest_path, manifest).map_err(io)?;
    Ok(lib)
}

/// The filter `cargo xtask new-filter` starts from.
const TEMPLATE: &str = r#"//! Drops TCP and UDP packets to the port given as `port=N`.
#![no_std]
use wasmnf_sdk::{config, entry, InitError, Packet, State, Verdict};

static PORT: State<u16> = State::new(0);

fn init() -> Result<(), InitError> {
    PORT.set(config::require("port")?);
    Ok(())
}

fn filter(pkt: &Packet) -> Verdict {
    match pkt.ports() {
        Some((_, dst)) if dst == PORT.get() => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

entry!(filter, init = init);
"#;

/// The body of a build script that needs the example filters: builds them,
/// asks cargo to rerun when a filter's sources change, and sets
/// `WASMNF_FILTERS_DIR` for the crate being built. Panics (failing the build)
/// with the reason if they do not build.
pub fn filters_build_script() {
    let filters = repo_root().join("filters");
    println!(
        "cargo:rerun-if-changed={}",
        filters.join("Cargo.toml").display()
    );
    for dir in std::fs::read_dir(&filters)
        .expect("filters/ exists")
        .flatten()
    {
        let src = dir.path().join("src");
        if src.is_dir() {
            println!("cargo:rerun-if-changed={}", src.display());
            println!(
                "cargo:rerun-if-changed={}",
                dir.path().join("Cargo.toml").display()
            );
        }
    }
    match build_filters(&filters) {
        Ok(out) => println!("cargo:rustc-env=WASMNF_FILTERS_DIR={}", out.display()),
        Err(e) => panic!("{e}"),
    }
}

/// Compiles every `tests/regress/NAME.wat` to `out/regress-NAME.wasm` and
/// writes `out/regress.tsv`: one `NAME<TAB>EXPECTATION` line per module (its
/// `;; expect:` line; tests/regress/README.md). Returns the module count.
pub fn build_regress(regress_dir: &Path, out: &Path) -> Result<usize, String> {
    let err = |p: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", p.display());
    std::fs::create_dir_all(out).map_err(|e| err(out, &e))?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(regress_dir).map_err(|e| err(regress_dir, &e))? {
        let path = entry.map_err(|e| err(regress_dir, &e))?.path();
        if path.extension().is_some_and(|x| x == "wat") {
            names.push(path);
        }
    }
    names.sort();
    let mut tsv = String::new();
    for path in &names {
        let text = std::fs::read_to_string(path).map_err(|e| err(path, &e))?;
        let expect =
            regress_expectation(&text).ok_or_else(|| err(path, &"no `;; expect:` line"))?;
        let wasm = wat::parse_str(&text).map_err(|e| err(path, &e))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("module");
        let dst = out.join(format!("regress-{name}.wasm"));
        std::fs::write(&dst, wasm).map_err(|e| err(&dst, &e))?;
        tsv.push_str(&format!("{name}\t{expect}\n"));
    }
    let list = out.join("regress.tsv");
    std::fs::write(&list, tsv).map_err(|e| err(&list, &e))?;
    Ok(names.len())
}

/// The `;; expect:` line of a regression module (tests/regress/README.md).
pub fn regress_expectation(wat: &str) -> Option<&str> {
    wat.lines()
        .find_map(|l| l.trim().strip_prefix(";; expect:"))
        .map(str::trim)
}
