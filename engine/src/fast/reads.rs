//! What a filter's packet path can read, found at load time: the memory
//! bytes its `filter` function (and every function it calls) can load, and
//! whether it calls the `ctx` import.
//!
//! The host stages the window before every run; staging a field no load can
//! see is wasted work. When every load reachable from `filter` has a fixed
//! address ([`Op::LoadAbs`]) and nothing else reachable reads memory, the
//! loads name every byte a run can read, so the host stages only the window
//! fields among them ([`crate::instance`]) and reads the clock only if the
//! timestamp can be seen. Anything less certain (a computed address, a bulk
//! copy, a host function that reads memory, an indirect call) gives
//! [`Reads::Any`], and everything is staged as before.

use super::module::{Callee, Module, PathReads, Reads};
use super::op::{HostFn, Load, Op};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

/// Bytes a load of `kind` reads.
fn width(kind: Load) -> u64 {
    match kind {
        Load::I32U8 | Load::I32S8 | Load::I64U8 | Load::I64S8 => 1,
        Load::I32U16 | Load::I32S16 | Load::I64U16 | Load::I64S16 => 2,
        Load::I32 | Load::I64U32 | Load::I64S32 => 4,
        Load::I64 => 8,
    }
}

/// Whether host function `f` reads the filter's memory; notes a `ctx` call.
fn host_reads_memory(f: HostFn, ctx: &mut bool) -> bool {
    match f {
        // Map imports read a key (and a value) at computed addresses.
        HostFn::ConfigGet
        | HostFn::SetError
        | HostFn::MapLookup
        | HostFn::MapUpdate
        | HostFn::MapDelete
        | HostFn::MapAdd => true,
        HostFn::Ctx => {
            *ctx = true;
            false
        }
        // Keyed by the packet: writes the value, reads no memory.
        HostFn::MapLookupPkt => false,
        HostFn::PktU8 | HostFn::PktU16 | HostFn::PktU32 | HostFn::PktU64 | HostFn::PktRead => false,
    }
}

/// What runs of `module`'s `filter` can read: walks every function
/// reachable from it through direct calls.
pub(crate) fn path_reads(module: &Module) -> PathReads {
    let mut fixed: Vec<Range<u64>> = Vec::new();
    let mut ctx = false;
    let mut seen = vec![false; module.codes.len()];
    let mut todo: Vec<u32> = Vec::new();
    let any = PathReads {
        memory: Reads::Any,
        ctx: true,
    };
    match module.funcs.get(module.filter as usize) {
        Some(&(Callee::Wasm(i), _)) => todo.push(i),
        _ => return any,
    }
    while let Some(i) = todo.pop() {
        match seen.get_mut(i as usize) {
            Some(true) => continue,
            Some(s) => *s = true,
            None => return any,
        }
        let Some(code) = module.codes.get(i as usize) else {
            return any;
        };
        for op in &code.ops {
            match *op {
                Op::LoadAbs(..) | Op::LoadAbs8(_) | Op::LoadAbs16(_) | Op::LoadAbs32(_) => {
                    if let Some((kind, addr)) = op.fixed_load() {
                        let start = u64::from(addr);
                        fixed.push(start..start + width(kind));
                    }
                }
                Op::JumpIfAbs { kind, addr, .. } => {
                    let start = u64::from(addr);
                    fixed.push(start..start + width(kind));
                }
                Op::Load(..)
                | Op::LoadLocal { .. }
                | Op::LoadLocalSet { .. }
                | Op::CopyLocal { .. }
                | Op::MemoryCopy
                | Op::CallIndirect(_) => return any,
                Op::CallHost(f) => {
                    if host_reads_memory(f, &mut ctx) {
                        return any;
                    }
                }
                // A call names the callee's code (`Module::codes`), not its
                // function index; host functions are `CallHost`.
                Op::Call(callee) => todo.push(callee),
                // Everything else reads no memory (stores and fills write
                // it, which does not change what staging must provide).
                // No catch-all: a new instruction must be placed here.
                Op::Fuel(_)
                | Op::Unreachable
                | Op::Jump(_)
                | Op::JumpIfZero(_)
                | Op::JumpIfNonZero(_)
                | Op::Br(_)
                | Op::BrIf(_)
                | Op::BrTable { .. }
                | Op::Return
                | Op::ReturnLocal(_)
                | Op::ReturnConst(_)
                | Op::Drop
                | Op::Select
                | Op::LocalGet(_)
                | Op::LocalSet(_)
                | Op::LocalTee(_)
                | Op::LocalSetConst(..)
                | Op::Local32ConstSet { .. }
                | Op::Bin32Local { .. }
                | Op::JumpIfLocalZero { .. }
                | Op::JumpIfLocal32Const { .. }
                | Op::Global32Const { .. }
                | Op::GlobalUpdate { .. }
                | Op::GlobalSetLocal32Const { .. }
                | Op::StoreLocalConst { .. }
                | Op::StoreLocalLocal { .. }
                | Op::GlobalGet(_)
                | Op::GlobalSet(_)
                | Op::Const(_)
                | Op::Bin32(_)
                | Op::Bin64(_)
                | Op::Bin32Const(..)
                | Op::Bin64Const(..)
                | Op::Local32Const { .. }
                | Op::Local32Local { .. }
                | Op::Bin32Set { .. }
                | Op::JumpIfBin32 { .. }
                | Op::JumpIfBin32Const { .. }
                | Op::Un32(_)
                | Op::Un64(_)
                | Op::WrapI64
                | Op::ExtendI32S
                | Op::ExtendI32U
                | Op::Store(..)
                | Op::MemorySize
                | Op::MemoryGrow
                | Op::MemoryFill => {}
            }
        }
    }
    PathReads {
        memory: Reads::Fixed(fixed),
        ctx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::translate;

    fn reads(body: &str) -> PathReads {
        let wat = alloc::format!(
            r#"(module
              (import "wasmnf" "ctx" (func $ctx (param i32) (result i64)))
              (import "wasmnf" "config_get" (func $config (param i32 i32 i32 i32) (result i32)))
              (import "wasmnf" "pkt_read" (func $read (param i32 i32 i32) (result i32)))
              (type $t (func (result i32)))
              (memory (export "memory") 1)
              (table 1 funcref)
              (elem (i32.const 0) $dynamic)
              (func $dynamic (result i32) (local i32) (i32.load (local.get 0)))
              (func $fixed (result i32) (i32.load16_u (i32.const 300)))
              (func (export "init") (result i32) (i32.load (i32.load (i32.const 0))))
              (func (export "filter") (param i32) (result i32) {body}))"#
        );
        translate(&wat::parse_str(wat).unwrap(), false)
            .unwrap()
            .reads
    }

    fn fixed(ranges: &[(u64, u64)], ctx: bool) -> PathReads {
        PathReads {
            memory: Reads::Fixed(ranges.iter().map(|&(a, b)| a..b).collect()),
            ctx,
        }
    }

    #[test]
    fn fixed_addresses_name_every_byte_read() {
        // `init` loads from a computed address: it does not count.
        assert_eq!(reads("(i32.const 1)"), fixed(&[], false));
        assert_eq!(
            reads("(i32.add (i32.load8_u (i32.const 1070)) (i32.load offset=4 (i32.const 1020)))"),
            fixed(&[(1070, 1071), (1024, 1028)], false)
        );
        // Guards fused with their load, wide loads, and callees.
        assert_eq!(
            reads(
                "(if (i32.and (i32.load8_u (i32.const 9)) (i32.const 2)) (then (return (i32.const 0))))
                 (drop (i64.load (i32.const 16)))
                 (call $fixed)"
            ),
            fixed(&[(9, 10), (16, 24), (300, 302)], false)
        );
        // Writes do not matter: stores, fills, pkt_read.
        assert_eq!(
            reads(
                "(i32.store (local.get 0) (i32.const 1))
                 (memory.fill (local.get 0) (i32.const 0) (i32.const 8))
                 (drop (call $read (i32.const 0) (local.get 0) (i32.const 4)))
                 (i32.const 1)"
            ),
            fixed(&[], false)
        );
        // An address near 4 GiB does not wrap.
        assert_eq!(
            reads("(i32.load (i32.const -2))"),
            fixed(&[(0xffff_fffe, 0x1_0000_0002)], false)
        );
    }

    #[test]
    fn ctx_calls_are_noted() {
        assert_eq!(
            reads("(i32.wrap_i64 (call $ctx (i32.const 6)))"),
            fixed(&[], true)
        );
    }

    #[test]
    fn anything_uncertain_reads_everything() {
        let any = PathReads {
            memory: Reads::Any,
            ctx: true,
        };
        for body in [
            "(i32.load (local.get 0))",
            "(call $dynamic)",
            "(call_indirect (type $t) (i32.const 0))",
            "(memory.copy (i32.const 0) (i32.const 8) (i32.const 8)) (i32.const 1)",
            "(call $config (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8))",
        ] {
            assert_eq!(reads(body), any, "{body}");
        }
    }

    #[test]
    fn overlap_and_end() {
        let r = Reads::Fixed(alloc::vec![10..12, 40..41]);
        assert!(r.overlaps(11..20) && r.overlaps(0..11) && !r.overlaps(12..40));
        assert_eq!(r.end_within(0..64), 41);
        assert_eq!(r.end_within(0..11), 11);
        assert_eq!(r.end_within(41..64), 41);
        assert!(Reads::Any.overlaps(0..1));
        assert_eq!(Reads::Any.end_within(5..9), 9);
    }
}
