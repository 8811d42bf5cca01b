//! Builds the example filters for wasm32 so this crate always uses the
//! current sources, and tells it where the `.wasm` files are.

fn main() {
    xtask::filters_build_script();
}
