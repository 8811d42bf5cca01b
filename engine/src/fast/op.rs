//! The fast tier's instruction set: Wasm's integer instructions, with
//! control flow resolved to absolute jumps and stack adjustments.
//!
//! Operand stack positions and local indices are slots relative to the
//! frame pointer (`fp`): a function's parameters and locals are slots
//! `0..locals`, its operand stack starts at slot `locals`. Heights in
//! branches are relative to `fp` too.

/// Where a taken branch goes and what it keeps: the top `arity` values move
/// down to slot `height` (relative to `fp`) and the stack ends above them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// Index of the next instruction.
    pub pc: u32,
    /// Slot (relative to `fp`) of the first value kept.
    pub height: u32,
    /// Number of values kept.
    pub arity: u32,
}

/// A host function a filter imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostFn {
    PktU8,
    PktU16,
    PktU32,
    PktU64,
    PktRead,
    Ctx,
    ConfigGet,
    SetError,
    MapLookup,
    MapLookupPkt,
    MapUpdate,
    MapDelete,
    MapAdd,
}

impl HostFn {
    /// The import of that name, with its parameter and result counts.
    pub fn from_name(name: &str) -> Option<HostFn> {
        Some(match name {
            "pkt_u8" => HostFn::PktU8,
            "pkt_u16" => HostFn::PktU16,
            "pkt_u32" => HostFn::PktU32,
            "pkt_u64" => HostFn::PktU64,
            "pkt_read" => HostFn::PktRead,
            "ctx" => HostFn::Ctx,
            "config_get" => HostFn::ConfigGet,
            "set_error" => HostFn::SetError,
            "map_lookup" => HostFn::MapLookup,
            "map_lookup_pkt" => HostFn::MapLookupPkt,
            "map_update" => HostFn::MapUpdate,
            "map_delete" => HostFn::MapDelete,
            "map_add" => HostFn::MapAdd,
            _ => return None,
        })
    }
}

/// Binary integer operators (two operands, one result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bin {
    Add,
    Sub,
    Mul,
    DivS,
    DivU,
    RemS,
    RemU,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

/// Unary integer operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Un {
    Eqz,
    Clz,
    Ctz,
    Popcnt,
    Extend8S,
    Extend16S,
    /// `i64.extend32_s` (only as a 64-bit operator).
    Extend32S,
}

/// Memory access widths and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Load {
    I32,
    I64,
    I32U8,
    I32S8,
    I32U16,
    I32S16,
    I64U8,
    I64S8,
    I64U16,
    I64S16,
    I64U32,
    I64S32,
}

/// Memory store widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    I32,
    I64,
    B8,
    B16,
    B32,
}

/// One instruction. Kept to 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Charges fuel for the straight-line run of instructions that follows.
    Fuel(u32),
    Unreachable,
    /// Jump without changing the stack.
    Jump(u32),
    /// Pops a condition; jumps if it is zero.
    JumpIfZero(u32),
    /// Pops a condition; jumps if it is not zero.
    JumpIfNonZero(u32),
    /// Jump keeping values (index into the function's targets).
    Br(u32),
    /// Pops a condition; if it is not zero, jump keeping values.
    BrIf(u32),
    /// Pops an index; jumps to one of `len` targets starting at `first` (the
    /// last one is the default).
    BrTable {
        first: u32,
        len: u32,
    },
    /// Returns the function's results to the caller.
    Return,
    /// Calls a function defined in the module.
    Call(u32),
    /// Calls a host function.
    CallHost(HostFn),
    /// Pops a table index; calls the function there if its type is the
    /// canonical type given.
    CallIndirect(u32),
    Drop,
    Select,
    LocalGet(u32),
    LocalSet(u32),
    LocalTee(u32),
    GlobalGet(u32),
    GlobalSet(u32),
    Const(u64),
    Bin32(Bin),
    Bin64(Bin),
    Un32(Un),
    Un64(Un),
    WrapI64,
    ExtendI32S,
    ExtendI32U,
    Load(Load, u32),
    Store(Store, u32),
    MemorySize,
    MemoryGrow,
    MemoryCopy,
    MemoryFill,

    // Fused forms of frequent sequences (see `translate::Translator::fuse`).
    /// `i32.const a; load offset=o`: a load from the fixed address `a + o`.
    LoadAbs(Load, u32),
    /// `LoadAbs` of the zero-extending kinds, one instruction per width
    /// (no second dispatch on the kind): `i32.load8_u`/`i64.load8_u`,
    /// `*.load16_u`, `i32.load`/`i64.load32_u`.
    LoadAbs8(u32),
    LoadAbs16(u32),
    LoadAbs32(u32),
    /// `i32.const c; bin`: the top of the stack `op` a constant.
    Bin32Const(Bin, u32),
    /// `i64.const c; bin`.
    Bin64Const(Bin, u64),
    /// `local.get l; i32.const c; bin`: pushes local `l` `op` `c`.
    Local32Const {
        op: Bin,
        local: u16,
        c: u32,
    },
    /// `local.get a; local.get b; bin`: pushes local `a` `op` local `b`.
    Local32Local {
        op: Bin,
        a: u16,
        b: u16,
    },
    /// `bin; br_if` (no values kept): pops two, jumps if `a op b` is not 0.
    JumpIfBin32 {
        op: Bin,
        target: u32,
    },
    /// `i32.const c; bin; br_if`: pops one, jumps if `a op c` is not 0.
    JumpIfBin32Const {
        op: Bin,
        c: u32,
        target: u32,
    },
    /// `i32.const c; local.set l` (or `i64.const`).
    LocalSetConst(u32, u64),
    /// `bin; local.set l`: pops two, stores `a op b` in local `l`.
    Bin32Set {
        op: Bin,
        local: u32,
    },
    /// `local.get l; i32.const c; bin; local.set d`: local `d` = local `l`
    /// `op` `c`.
    Local32ConstSet {
        op: Bin,
        local: u16,
        c: u32,
        dst: u16,
    },
    /// `local.get l; load offset`: pushes the load at local `l` + `offset`.
    LoadLocal {
        kind: Load,
        local: u16,
        offset: u32,
    },
    /// `local.get l; load offset; local.set d`: local `d` = the load at
    /// local `l` + `offset`.
    LoadLocalSet {
        kind: Load,
        local: u16,
        offset: u32,
        dst: u16,
    },
    /// `local.get l; bin`: pops `a`, pushes `a` `op` local `l` (32-bit).
    Bin32Local {
        op: Bin,
        local: u16,
    },
    /// `local.get l; br_if` on zero (`i32.eqz; br_if` or `if`): jumps if
    /// local `l` (32-bit) is 0.
    JumpIfLocalZero {
        local: u16,
        target: u32,
    },
    /// `local.get l; i32.const c; bin; br_if` (or `if`): jumps to `target`
    /// if `(local l op c) != 0` equals `when`; nothing on the stack.
    JumpIfLocal32Const {
        op: Bin,
        when: bool,
        local: u16,
        c: u32,
        target: u32,
    },
    /// `local.get a; i32.const c; store offset` (or `i64.const` with `c`
    /// below 2^32): stores `c` at local `a` + `offset`.
    StoreLocalConst {
        kind: Store,
        local: u16,
        offset: u32,
        c: u32,
    },
    /// `local.get a; local.get v; store offset`: stores local `v` at local
    /// `a` + `offset`.
    StoreLocalLocal {
        kind: Store,
        addr: u16,
        value: u16,
        offset: u32,
    },
    /// `local.get a; local.get b; load lo; store so`: copies the load at
    /// local `b` + `lo` to local `a` + `so` (a field of a struct copy).
    CopyLocal {
        load: Load,
        store: Store,
        a: u16,
        b: u16,
        load_off: u32,
        store_off: u32,
    },
    /// `global.get g; i32.const c; bin`: pushes global `g` `op` `c`.
    Global32Const {
        op: Bin,
        global: u16,
        c: u32,
    },
    /// `global.get g; i32.const c; bin; local.tee l; global.set g`: global
    /// `g` and local `l` both become global `g` `op` `c` (the shadow stack
    /// pointer's move at a function's entry, as LLVM writes it).
    GlobalUpdate {
        op: Bin,
        global: u16,
        local: u16,
        c: u32,
    },
    /// `local.get l; i32.const c; bin; global.set g`: global `g` = local `l`
    /// `op` `c` (the shadow stack pointer restored at a function's exit).
    GlobalSetLocal32Const {
        op: Bin,
        local: u16,
        c: u32,
        global: u16,
    },
    /// `local.get l; return` in a function with one result.
    ReturnLocal(u32),
    /// Returns the constant as the one result (see
    /// `translate::thread_returns`).
    ReturnConst(u64),
    /// A guard on a value at a fixed address: `LoadAbs(kind, addr)` (an
    /// `i32` load), then jumps to `target` if `(value op c) != 0` equals
    /// `when`. Fuses `LoadAbs; JumpIfBin32Const`, `LoadAbs; Bin32Const;
    /// JumpIfZero` and `LoadAbs; JumpIf(Non)Zero` (with `op` `Or`, `c` 0).
    JumpIfAbs {
        kind: Load,
        op: Bin,
        when: bool,
        addr: u32,
        c: u32,
        target: u32,
    },
}

impl Op {
    /// `LoadAbs(kind, addr)` for any of the fixed-address load forms.
    pub(crate) fn fixed_load(self) -> Option<(Load, u32)> {
        match self {
            Op::LoadAbs(kind, addr) => Some((kind, addr)),
            Op::LoadAbs8(addr) => Some((Load::I32U8, addr)),
            Op::LoadAbs16(addr) => Some((Load::I32U16, addr)),
            Op::LoadAbs32(addr) => Some((Load::I32, addr)),
            _ => None,
        }
    }

    /// The fastest form of a load of `kind` from the fixed address `addr`.
    pub(crate) fn load_abs(kind: Load, addr: u32) -> Op {
        match kind {
            Load::I32U8 | Load::I64U8 => Op::LoadAbs8(addr),
            Load::I32U16 | Load::I64U16 => Op::LoadAbs16(addr),
            Load::I32 | Load::I64U32 => Op::LoadAbs32(addr),
            _ => Op::LoadAbs(kind, addr),
        }
    }
}

// The interpreter's cache footprint depends on this.
const _: () = assert!(core::mem::size_of::<Op>() <= 16);
