//! Builds the example filters for wasm32 so the tests always run the current
//! sources, and tells the tests where the `.wasm` files are.

fn main() {
    let root = xtask::repo_root();
    let filters = root.join("filters");
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
    match xtask::build_filters(&filters) {
        Ok(out) => println!("cargo:rustc-env=WASMNF_FILTERS_DIR={}", out.display()),
        Err(e) => panic!("{e}"),
    }
}
