//! Checks a module against the ABI ([`check`]), so that every refusal names
//! the problem: the import, the export, the instruction; then validates it
//! as WebAssembly ([`validate`]) for the feature set the ABI allows
//! ([`FEATURES`]), before the fast tier translates it.
//!
//! [`check`] only reads the module; [`validate`] applies the specification's
//! validation rules (types, control stack, indices) with wasmparser's
//! validator, the one wasmtime uses. The fast tier's translator relies on
//! both having passed.

use crate::abi;
use crate::error::LoadError;
use crate::Limits;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValType,
    Validator, WasmFeatures,
};

/// The WebAssembly features a filter may use: the integer part of Wasm 1.0
/// with mutable globals, sign extension, multiple values, bulk memory and
/// reference types (which Rust's `wasm32-unknown-unknown` target enables by
/// default). No floats, SIMD, threads, tail calls, exceptions, 64-bit or
/// multiple memories, extended constants or GC. Of bulk memory and reference
/// types the fast tier runs `memory.copy`, `memory.fill` and tables of
/// `funcref` with active segments; the rest validates and is then refused
/// by name ([`crate::LoadError::Unsupported`]).
pub const FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::REFERENCE_TYPES);

/// Validates `wasm` by the WebAssembly specification with [`FEATURES`].
pub fn validate(wasm: &[u8]) -> Result<(), LoadError> {
    Validator::new_with_features(FEATURES)
        .validate_all(wasm)
        .map(drop)
        .map_err(|e| LoadError::Invalid(format!("{} (at byte {})", e.message(), e.offset())))
}

/// What the ABI check learned about a module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Size of the module in bytes.
    pub size: usize,
    /// The ABI imports the module uses, in import order.
    pub imports: Vec<String>,
    /// Whether the module exports `init`.
    pub has_init: bool,
    /// Whether the module exports its memory.
    pub exports_memory: bool,
    /// Initial and maximum (if declared) pages of the module's memory.
    pub memory_pages: Option<(u32, Option<u32>)>,
    /// Address of the staging window, if the module exports one.
    pub window: Option<u32>,
    /// Number of functions the module defines.
    pub functions: u32,
    /// The maps it declares (section `wasmnf.maps`), by id.
    pub maps: Vec<wasmnf_common::maps::Decl>,
}

/// Checks `wasm` against ABI version 1 and `limits`.
pub fn check(wasm: &[u8], limits: &Limits) -> Result<ModuleInfo, LoadError> {
    if wasm.len() > limits.max_module_size {
        return Err(LoadError::TooLarge {
            size: wasm.len(),
            limit: limits.max_module_size,
        });
    }
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    let mut info = ModuleInfo {
        size: wasm.len(),
        ..ModuleInfo::default()
    };
    let mut types: Vec<Option<FuncType>> = Vec::new();
    // Type index of every function: imported ones first, then defined ones.
    let mut func_types: Vec<u32> = Vec::new();
    // Type and constant initializer (if `i32.const`) of every global.
    let mut globals: Vec<(ValType, bool, Option<i32>)> = Vec::new();
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut imported_funcs = 0u32;
    let mut body_index = 0u32;
    let mut map_section: Option<Vec<u8>> = None;

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(LoadError::NotWasm);
            }
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(malformed)?.into_types() {
                        match sub.composite_type.inner {
                            CompositeInnerType::Func(ft) => {
                                let place = format!("the type of function type {}", types.len());
                                for ty in ft.params().iter().chain(ft.results()) {
                                    check_value_type(*ty, &place)?;
                                }
                                types.push(Some(ft));
                            }
                            _ => types.push(None),
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(malformed)?;
                    let TypeRef::Func(ty) = import.ty else {
                        return Err(LoadError::ImportKind {
                            module: import.module.into(),
                            name: import.name.into(),
                        });
                    };
                    let expected = (import.module == abi::IMPORT_MODULE)
                        .then(|| abi::IMPORTS.iter().find(|(n, _)| *n == import.name))
                        .flatten()
                        .ok_or_else(|| LoadError::UnknownImport {
                            module: import.module.into(),
                            name: import.name.into(),
                        })?;
                    let found = signature(&types, ty);
                    if found != expected.1 {
                        return Err(LoadError::ImportType {
                            name: import.name.into(),
                            expected: expected.1,
                            found,
                        });
                    }
                    info.imports.push(import.name.into());
                    func_types.push(ty);
                    imported_funcs += 1;
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    func_types.push(ty.map_err(malformed)?);
                    info.functions += 1;
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let ty = table.map_err(malformed)?.ty;
                    if ty.initial > u64::from(abi::limits::TABLE_ELEMENTS_MAX) {
                        return Err(LoadError::Table(format!(
                            "table declares {} initial elements; the limit is {}",
                            ty.initial,
                            abi::limits::TABLE_ELEMENTS_MAX
                        )));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let ty = memory.map_err(malformed)?;
                    if info.memory_pages.is_some() {
                        return Err(LoadError::Memory("more than one memory".into()));
                    }
                    if ty.memory64 || ty.shared {
                        return Err(LoadError::Memory(
                            "64-bit and shared memories are not allowed".into(),
                        ));
                    }
                    if ty.initial > u64::from(limits.max_memory_pages) {
                        return Err(LoadError::Memory(format!(
                            "memory declares {} initial pages; the limit is {} (64 KiB each)",
                            ty.initial, limits.max_memory_pages
                        )));
                    }
                    // Both fit in u32: initial is under the limit, and a
                    // larger maximum is clamped by the store's limiter.
                    let max = ty.maximum.map(|m| m.min(u64::from(u32::MAX)) as u32);
                    info.memory_pages = Some((ty.initial as u32, max));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.map_err(malformed)?;
                    check_value_type(
                        global.ty.content_type,
                        &format!("the type of global {}", globals.len()),
                    )?;
                    let mut ops = global.init_expr.get_operators_reader();
                    let value = match ops.read() {
                        Ok(Operator::I32Const { value }) => Some(value),
                        _ => None,
                    };
                    globals.push((global.ty.content_type, global.ty.mutable, value));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(malformed)?;
                    exports.push((export.name.into(), export.kind, export.index));
                }
            }
            Payload::StartSection { .. } => return Err(LoadError::StartFunction),
            Payload::CustomSection(reader) if reader.name() == wasmnf_common::maps::SECTION => {
                // Several sections of the name read as one, as a linker
                // would have merged them.
                map_section
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(reader.data());
            }
            Payload::CodeSectionEntry(body) => {
                let func = imported_funcs + body_index;
                body_index += 1;
                let locals = body.get_locals_reader().map_err(malformed)?;
                for local in locals {
                    let (_, ty) = local.map_err(malformed)?;
                    check_value_type(ty, &format!("the locals of function {func}"))?;
                }
                let mut ops = body.get_operators_reader().map_err(malformed)?;
                while !ops.eof() {
                    let op = ops.read().map_err(malformed)?;
                    check_operator(&op, func)?;
                }
            }
            _ => {}
        }
    }

    let find = |name: &str| exports.iter().find(|(n, _, _)| n == name);
    let func_sig = |index: u32| match func_types.get(index as usize) {
        Some(ty) => signature(&types, *ty),
        None => String::from("<unknown>"),
    };
    match find(abi::EXPORT_FILTER) {
        None => return Err(LoadError::MissingExport(abi::EXPORT_FILTER)),
        Some((_, ExternalKind::Func, index)) => {
            let found = func_sig(*index);
            if found != "(i32) -> i32" {
                return Err(LoadError::ExportType {
                    name: abi::EXPORT_FILTER,
                    expected: "(i32) -> i32",
                    found,
                });
            }
        }
        Some(_) => {
            return Err(LoadError::ExportType {
                name: abi::EXPORT_FILTER,
                expected: "(i32) -> i32",
                found: "not a function".into(),
            })
        }
    }
    if let Some((_, kind, index)) = find(abi::EXPORT_INIT) {
        let found = match kind {
            ExternalKind::Func => func_sig(*index),
            _ => "not a function".into(),
        };
        if found != "() -> i32" {
            return Err(LoadError::ExportType {
                name: abi::EXPORT_INIT,
                expected: "() -> i32",
                found,
            });
        }
        info.has_init = true;
    }
    info.exports_memory = matches!(find(abi::EXPORT_MEMORY), Some((_, ExternalKind::Memory, _)));
    if let Some((_, kind, index)) = find(abi::EXPORT_WINDOW) {
        info.window = Some(window_address(*kind, globals.get(*index as usize), &info)?);
    }
    info.maps = crate::maps::declarations(map_section.as_deref()).map_err(LoadError::Map)?;
    Ok(info)
}

/// Checks the exported window global and returns the window's address.
fn window_address(
    kind: ExternalKind,
    global: Option<&(ValType, bool, Option<i32>)>,
    info: &ModuleInfo,
) -> Result<u32, LoadError> {
    let window_err = |why: &str| LoadError::Window(why.to_string());
    let Some((ValType::I32, false, Some(addr))) = global.filter(|_| kind == ExternalKind::Global)
    else {
        return Err(window_err(
            "`wasmnf_window` must be an immutable i32 global set by i32.const",
        ));
    };
    let addr = *addr as u32;
    if !(addr as usize).is_multiple_of(abi::window::ALIGN) {
        return Err(window_err("the window address must be 8-byte aligned"));
    }
    if !info.exports_memory {
        return Err(window_err("a module with a window must export its memory"));
    }
    let initial_bytes = info.memory_pages.map_or(0, |(p, _)| p as usize * 65536);
    if addr as usize + abi::window::SIZE > initial_bytes {
        return Err(window_err(&format!(
            "the window at {addr} (+{} bytes) is outside the initial memory",
            abi::window::SIZE
        )));
    }
    Ok(addr)
}

fn malformed(e: wasmparser::BinaryReaderError) -> LoadError {
    LoadError::Malformed(format!("{} (at byte {})", e.message(), e.offset()))
}

fn check_value_type(ty: ValType, place: &str) -> Result<(), LoadError> {
    match ty {
        ValType::F32 | ValType::F64 => Err(LoadError::FloatType {
            ty: if ty == ValType::F32 { "f32" } else { "f64" },
            place: place.into(),
        }),
        ValType::V128 => Err(LoadError::Simd(place.into())),
        _ => Ok(()),
    }
}

/// The signature of function type `index` in Wasm text notation, e.g.
/// `(i32, i32) -> i64`.
fn signature(types: &[Option<FuncType>], index: u32) -> String {
    let Some(Some(ft)) = types.get(index as usize) else {
        return String::from("<not a function type>");
    };
    let list = |tys: &[ValType]| {
        tys.iter()
            .map(|t| match t {
                ValType::I32 => "i32",
                ValType::I64 => "i64",
                ValType::F32 => "f32",
                ValType::F64 => "f64",
                ValType::V128 => "v128",
                ValType::Ref(_) => "ref",
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let results = match ft.results() {
        [] => String::from("()"),
        [one] => list(core::slice::from_ref(one)),
        many => format!("({})", list(many)),
    };
    format!("({}) -> {}", list(ft.params()), results)
}

/// Rejects any instruction that touches a float, naming it as Wasm text does.
fn check_operator(op: &Operator<'_>, func: u32) -> Result<(), LoadError> {
    let debug = format!("{op:?}");
    if !(debug.contains("F32") || debug.contains("F64")) {
        return Ok(());
    }
    let head: &str = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    Err(LoadError::Float {
        instruction: wat_name(head),
        func,
    })
}

/// `F32ConvertI32S` -> `f32.convert_i32_s`; `Block` -> `block`.
fn wat_name(debug_name: &str) -> String {
    let mut out = String::new();
    let mut tokens = 0;
    for c in debug_name.chars() {
        if c.is_ascii_uppercase() {
            tokens += 1;
            if tokens == 2 && debug_name.starts_with(['I', 'F']) && out.len() == 3 {
                out.push('.');
            } else if tokens > 1 {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wat_name;

    #[test]
    fn names_like_wasm_text() {
        assert_eq!(wat_name("F64Add"), "f64.add");
        assert_eq!(wat_name("F32ConvertI32S"), "f32.convert_i32_s");
        assert_eq!(wat_name("I32TruncSatF64U"), "i32.trunc_sat_f64_u");
        assert_eq!(wat_name("F32Const"), "f32.const");
        assert_eq!(wat_name("Block"), "block");
        assert_eq!(wat_name("TypedSelect"), "typed_select");
    }
}
