//! Translation of a validated module into the fast tier's form
//! ([`Module`]): its sections parsed here (types, imports, functions,
//! table, memory, globals, exports, segments), each function body by
//! [`super::func`], then what the packet path can read
//! ([`super::reads`]).
//!
//! Runs at load time on a module that already passed the ABI check and
//! validation, so it may rely on the module being well typed. It still
//! never panics on anything it reads: a construct it does not handle is
//! reported as [`Unsupported`], and the engine refuses the filter.

use super::func::Translator;
use super::module::{bad, int_type, Callee, Module, PathReads, Reads, Sig, Unsupported};
use super::op::HostFn;
use super::reads::path_reads;
use alloc::vec::Vec;
use wasmparser::{
    CompositeInnerType, ConstExpr, DataKind, ElementItems, ElementKind, ExternalKind, FuncType,
    FunctionBody, Operator, Parser, Payload, TableInit, TypeRef,
};

const NO_EXPORT: u32 = u32::MAX;

/// Most function types a module may declare for this tier.
const TYPES_MAX: u32 = 1024;

/// The value of a constant expression made of one integer constant.
fn const_value(expr: &ConstExpr<'_>) -> Result<u64, Unsupported> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().map_err(bad)? {
        Operator::I32Const { value } => u64::from(value as u32),
        Operator::I64Const { value } => value as u64,
        _ => return Err(Unsupported("a non-constant initializer")),
    };
    match ops.read().map_err(bad)? {
        Operator::End => Ok(value),
        _ => Err(Unsupported("a non-constant initializer")),
    }
}

/// Translates `wasm`, which passed validation; `count`: in the counting
/// form ([`crate::FilterOptions::count_instructions`]).
pub(crate) fn translate(wasm: &[u8], count: bool) -> Result<Module, Unsupported> {
    let mut types: Vec<FuncType> = Vec::new();
    let mut sigs: Vec<Sig> = Vec::new();
    let mut funcs: Vec<(Callee, u32)> = Vec::new();
    // Type indices of the defined functions, in order.
    let mut defined: Vec<u32> = Vec::new();
    let mut m = Module {
        funcs: Vec::new(),
        codes: Vec::new(),
        globals: Vec::new(),
        memory: None,
        data: Vec::new(),
        table: 0,
        elems: Vec::new(),
        filter: NO_EXPORT,
        init: None,
        memory_exported: false,
        reads: PathReads {
            memory: Reads::Any,
            ctx: true,
        },
    };
    let mut bodies: Vec<FunctionBody<'_>> = Vec::new();
    let mut tables = 0;
    let mut imports = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(bad)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(bad)?.into_types() {
                        let CompositeInnerType::Func(ft) = sub.composite_type.inner else {
                            return Err(Unsupported("a non-function type"));
                        };
                        for ty in ft.params().iter().chain(ft.results()) {
                            int_type(*ty)?;
                        }
                        let index = types.len() as u32;
                        // Finding the canonical type is linear in the types so
                        // far: cap them so translation stays fast.
                        if index >= TYPES_MAX {
                            return Err(Unsupported("more than 1024 function types"));
                        }
                        let canon = types
                            .iter()
                            .position(|t| *t == ft)
                            .map_or(index, |i| i as u32);
                        sigs.push(Sig {
                            params: ft.params().len() as u32,
                            results: ft.results().len() as u32,
                            canon,
                        });
                        types.push(ft);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(bad)?;
                    let TypeRef::Func(ty) = import.ty else {
                        return Err(Unsupported("a non-function import"));
                    };
                    let host =
                        HostFn::from_name(import.name).ok_or(Unsupported("an unknown import"))?;
                    funcs.push((Callee::Host(host), ty));
                    imports += 1;
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(bad)?;
                    funcs.push((Callee::Wasm(defined.len() as u32), ty));
                    defined.push(ty);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(bad)?;
                    if tables > 0 || !matches!(table.init, TableInit::RefNull) {
                        return Err(Unsupported("more than one table or a table initializer"));
                    }
                    tables += 1;
                    m.table = u32::try_from(table.ty.initial)
                        .map_err(|_| Unsupported("a table too large"))?;
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(bad)?;
                    if m.memory.is_some() || memory.memory64 || memory.shared {
                        return Err(Unsupported("a memory other than one 32-bit memory"));
                    }
                    let initial = u32::try_from(memory.initial)
                        .map_err(|_| Unsupported("a memory too large"))?;
                    let maximum = memory.maximum.map(|m| u32::try_from(m).unwrap_or(u32::MAX));
                    m.memory = Some((initial, maximum));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.map_err(bad)?;
                    int_type(global.ty.content_type)?;
                    m.globals.push(const_value(&global.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(bad)?;
                    match (export.kind, export.name) {
                        (ExternalKind::Func, "filter") => m.filter = export.index,
                        (ExternalKind::Func, "init") => m.init = Some(export.index),
                        (ExternalKind::Memory, "memory") => m.memory_exported = true,
                        _ => {}
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem.map_err(bad)?;
                    let ElementKind::Active {
                        table_index,
                        offset_expr,
                    } = elem.kind
                    else {
                        // Passive and declared segments only matter to
                        // instructions this tier does not translate.
                        continue;
                    };
                    if table_index.unwrap_or(0) != 0 {
                        return Err(Unsupported("a second table"));
                    }
                    let offset = const_value(&offset_expr)? as u32;
                    let mut items = Vec::new();
                    match elem.items {
                        ElementItems::Functions(reader) => {
                            for f in reader {
                                items.push(Some(f.map_err(bad)?));
                            }
                        }
                        ElementItems::Expressions(_, reader) => {
                            for expr in reader {
                                let expr = expr.map_err(bad)?;
                                let mut ops = expr.get_operators_reader();
                                items.push(match ops.read().map_err(bad)? {
                                    Operator::RefFunc { function_index } => Some(function_index),
                                    Operator::RefNull { .. } => None,
                                    _ => return Err(Unsupported("an element expression")),
                                });
                            }
                        }
                    }
                    m.elems.push((offset, items));
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data.map_err(bad)?;
                    if let DataKind::Active {
                        memory_index,
                        offset_expr,
                    } = data.kind
                    {
                        if memory_index != 0 {
                            return Err(Unsupported("a second memory"));
                        }
                        let offset = const_value(&offset_expr)? as u32;
                        m.data.push((offset, data.data.to_vec()));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            Payload::StartSection { .. } => return Err(Unsupported("a start function")),
            Payload::TagSection(_) => return Err(Unsupported("exception tags")),
            _ => {}
        }
    }
    if m.filter == NO_EXPORT {
        return Err(Unsupported("no `filter` export"));
    }
    // The entry points must be the module's own functions (an export may
    // name an imported host function, which wasmi calls directly).
    for export in core::iter::once(m.filter).chain(m.init) {
        if export < imports {
            return Err(Unsupported("an exported entry point that is an import"));
        }
    }
    let sig_of = |ty: u32| {
        sigs.get(ty as usize)
            .copied()
            .ok_or(Unsupported("a type index"))
    };
    for (callee, ty) in &funcs {
        m.funcs.push((*callee, sig_of(*ty)?.canon));
    }
    if bodies.len() != defined.len() {
        return Err(Unsupported("a function without a body"));
    }
    for (body, ty) in bodies.iter().zip(&defined) {
        let code = Translator::new(&sigs, &funcs, sig_of(*ty)?, count).function(body)?;
        m.codes.push(code);
    }
    m.reads = path_reads(&m);
    Ok(m)
}
