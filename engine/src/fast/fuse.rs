//! Peephole fusion: the fused instructions ([`Op`]) that replace common
//! sequences as they are emitted ([`step`]), and the pass over a finished
//! function that shortens paths into its return ([`thread_returns`]).
//! Pure functions of the instructions, each rule tested below.

use super::op::{Bin, Load, Op, Store, Un};

/// One fusion step: folds `op` into the instructions before it (`prev1`
/// the last emitted, `prev2` the one before; `None` where a jump may land
/// between, so nothing may fuse across) where a fused form exists. Returns
/// how many of them the result replaces and the instruction to emit
/// instead (`(0, op)`: no rule applies). `returns_one`: the function
/// returns one value. The result may fuse again with what is before it.
pub(super) fn step(prev2: Option<Op>, prev1: Option<Op>, op: Op, returns_one: bool) -> (usize, Op) {
    if let Some(fused) = fuse_guard(prev2, prev1, op) {
        return fused;
    }
    if let Some(fused) = fuse_store(prev2, prev1, op) {
        return fused;
    }
    match (prev2, prev1, op) {
        (_, Some(Op::Local32Const { op, local, c }), Op::JumpIfNonZero(target)) => (
            1,
            Op::JumpIfLocal32Const {
                op,
                when: true,
                local,
                c,
                target,
            },
        ),
        (_, Some(Op::Local32Const { op, local, c }), Op::JumpIfZero(target)) => (
            1,
            Op::JumpIfLocal32Const {
                op,
                when: false,
                local,
                c,
                target,
            },
        ),
        (_, Some(Op::GlobalGet(g)), Op::Bin32Const(op, c)) => match u16::try_from(g) {
            Ok(global) => (1, Op::Global32Const { op, global, c }),
            Err(_) => (0, Op::Bin32Const(op, c)),
        },
        (Some(Op::Global32Const { op, global, c }), Some(Op::LocalTee(l)), Op::GlobalSet(g))
            if u32::from(global) == g =>
        {
            match u16::try_from(l) {
                Ok(local) => (
                    2,
                    Op::GlobalUpdate {
                        op,
                        global,
                        local,
                        c,
                    },
                ),
                Err(_) => (0, Op::GlobalSet(g)),
            }
        }
        (_, Some(Op::Local32Const { op, local, c }), Op::GlobalSet(g)) => match u16::try_from(g) {
            Ok(global) => (
                1,
                Op::GlobalSetLocal32Const {
                    op,
                    local,
                    c,
                    global,
                },
            ),
            Err(_) => (0, Op::GlobalSet(g)),
        },
        (_, Some(Op::Const(a)), Op::Load(kind, o)) => match (a as u32).checked_add(o) {
            Some(addr) => (1, Op::load_abs(kind, addr)),
            None => (0, op),
        },
        (Some(Op::LocalGet(l)), Some(Op::Const(c)), Op::Bin32(b)) => match u16::try_from(l) {
            Ok(local) => (
                2,
                Op::Local32Const {
                    op: b,
                    local,
                    c: c as u32,
                },
            ),
            Err(_) => (1, Op::Bin32Const(b, c as u32)),
        },
        (_, Some(Op::Const(c)), Op::Bin32(b)) => (1, Op::Bin32Const(b, c as u32)),
        (_, Some(Op::Const(c)), Op::Bin64(b)) => (1, Op::Bin64Const(b, c)),
        (Some(Op::LocalGet(a)), Some(Op::LocalGet(b)), Op::Bin32(op)) => {
            match (u16::try_from(a), u16::try_from(b)) {
                (Ok(a), Ok(b)) => (2, Op::Local32Local { op, a, b }),
                _ => (0, Op::Bin32(op)),
            }
        }
        (_, Some(Op::Bin32(op)), Op::JumpIfNonZero(target)) => (1, Op::JumpIfBin32 { op, target }),
        (_, Some(Op::Bin32Const(op, c)), Op::JumpIfNonZero(target)) => {
            (1, Op::JumpIfBin32Const { op, c, target })
        }
        (_, Some(Op::Const(c)), Op::LocalSet(l)) => (1, Op::LocalSetConst(l, c)),
        (_, Some(Op::Local32Const { op: b, local, c }), Op::LocalSet(d)) => {
            match u16::try_from(d) {
                Ok(dst) => (
                    1,
                    Op::Local32ConstSet {
                        op: b,
                        local,
                        c,
                        dst,
                    },
                ),
                Err(_) => (0, op),
            }
        }
        (_, Some(Op::LocalGet(l)), Op::Load(kind, offset)) => match u16::try_from(l) {
            Ok(local) => (
                1,
                Op::LoadLocal {
                    kind,
                    local,
                    offset,
                },
            ),
            Err(_) => (0, op),
        },
        (
            _,
            Some(Op::LoadLocal {
                kind,
                local,
                offset,
            }),
            Op::LocalSet(d),
        ) => match u16::try_from(d) {
            Ok(dst) => (
                1,
                Op::LoadLocalSet {
                    kind,
                    local,
                    offset,
                    dst,
                },
            ),
            Err(_) => (0, op),
        },
        (_, Some(Op::LocalGet(l)), Op::Bin32(op)) => match u16::try_from(l) {
            Ok(local) => (1, Op::Bin32Local { op, local }),
            Err(_) => (0, Op::Bin32(op)),
        },
        (_, Some(Op::LocalGet(l)), Op::JumpIfZero(target)) => match u16::try_from(l) {
            Ok(local) => (1, Op::JumpIfLocalZero { local, target }),
            Err(_) => (0, op),
        },
        (_, Some(Op::Bin32(op)), Op::LocalSet(local)) => (1, Op::Bin32Set { op, local }),
        (_, Some(Op::LocalGet(l)), Op::Return) if returns_one => (1, Op::ReturnLocal(l)),
        (_, Some(Op::Un32(Un::Eqz)), Op::JumpIfNonZero(t)) => (1, Op::JumpIfZero(t)),
        (_, Some(Op::Un32(Un::Eqz)), Op::JumpIfZero(t)) => (1, Op::JumpIfNonZero(t)),
        _ => (0, op),
    }
}

/// A store whose address is a local and whose value is a constant, another
/// local or a load at a local (`StoreLocalConst`, `StoreLocalLocal`,
/// `CopyLocal`), or `None`. Locals past `u16`, and an `i64` constant that
/// does not fit 32 bits, keep the separate instructions.
fn fuse_store(prev2: Option<Op>, prev1: Option<Op>, op: Op) -> Option<(usize, Op)> {
    let Op::Store(kind, offset) = op else {
        return None;
    };
    let Some(Op::LocalGet(a)) = prev2 else {
        return None;
    };
    let a = u16::try_from(a).ok()?;
    let fused = match prev1? {
        Op::Const(c) => {
            // An `i64.store` of a constant needs all 64 bits; the narrower
            // stores keep only the low bits, which `c as u32` has.
            let c = match kind {
                Store::I64 => u32::try_from(c).ok()?,
                _ => c as u32,
            };
            Op::StoreLocalConst {
                kind,
                local: a,
                offset,
                c,
            }
        }
        Op::LocalGet(v) => Op::StoreLocalLocal {
            kind,
            addr: a,
            value: u16::try_from(v).ok()?,
            offset,
        },
        Op::LoadLocal {
            kind: load,
            local: b,
            offset: load_off,
        } => Op::CopyLocal {
            load,
            store: kind,
            a,
            b,
            load_off,
            store_off: offset,
        },
        _ => return None,
    };
    Some((2, fused))
}

/// `JumpIfAbs`: a load from a fixed address, then a conditional jump on its
/// value (see [`Op::JumpIfAbs`]), or `None`. Returns how many of the
/// instructions before `op` it replaces.
fn fuse_guard(prev2: Option<Op>, prev1: Option<Op>, op: Op) -> Option<(usize, Op)> {
    let (n, load, op, c, target, when) = match (prev2, prev1, op) {
        (Some(load), Some(Op::Bin32Const(op, c)), Op::JumpIfZero(t)) => (2, load, op, c, t, false),
        (_, Some(load), Op::JumpIfBin32Const { op, c, target }) => (1, load, op, c, target, true),
        (_, Some(load), Op::JumpIfZero(t)) => (1, load, Bin::Or, 0, t, false),
        (_, Some(load), Op::JumpIfNonZero(t)) => (1, load, Bin::Or, 0, t, true),
        _ => return None,
    };
    match load.fixed_load() {
        Some((kind, addr)) if loads_i32(kind) => Some((
            n,
            Op::JumpIfAbs {
                kind,
                op,
                when,
                addr,
                c,
                target,
            },
        )),
        _ => None,
    }
}

/// Shortens paths into a `ReturnLocal(l)` once the function is complete:
/// a `LocalSetConst(l, c)` that falls through into it returns `c` itself,
/// and a `Jump` to it returns from where it is. Each saves a dispatch (a
/// Rust filter sets its verdict in a local and returns it at one exit).
/// Jump targets stay where they were: only the instruction's own effect
/// changes, to what executing it and then the return would do.
pub(super) fn thread_returns(ops: &mut [Op]) {
    for i in 0..ops.len() {
        let next = ops.get(i + 1).copied();
        let new = match (ops[i], next) {
            (Op::LocalSetConst(l, c), Some(Op::ReturnLocal(r))) if l == r => Op::ReturnConst(c),
            (Op::Jump(t), _) => match ops.get(t as usize) {
                Some(&Op::ReturnLocal(r)) => Op::ReturnLocal(r),
                _ => continue,
            },
            _ => continue,
        };
        ops[i] = new;
    }
}

/// Whether a load of `kind` gives an `i32`.
fn loads_i32(kind: Load) -> bool {
    matches!(
        kind,
        Load::I32 | Load::I32U8 | Load::I32S8 | Load::I32U16 | Load::I32S16
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `step` on the last two instructions `prev` (oldest first) and `op`,
    /// in a function returning one value.
    fn fuse(prev: &[Op], op: Op) -> (usize, Op) {
        let at = |back: usize| prev.len().checked_sub(back).map(|i| prev[i]);
        step(at(2), at(1), op, true)
    }

    const T: u32 = 17;

    #[test]
    fn constant_address_loads_become_absolute() {
        let load = Op::Load(Load::I32, 4);
        assert_eq!(fuse(&[Op::Const(60)], load), (1, Op::LoadAbs32(64)));
        assert_eq!(
            fuse(&[Op::Const(8)], Op::Load(Load::I32U8, 1)),
            (1, Op::LoadAbs8(9))
        );
        // An address that overflows 32 bits stays a computed load (it traps).
        let far = Op::Const(u64::from(u32::MAX));
        assert_eq!(fuse(&[far], load), (0, load));
    }

    #[test]
    fn constants_fold_into_binary_operators() {
        let add32 = Op::Bin32(Bin::Add);
        assert_eq!(
            fuse(&[Op::Const(3)], add32),
            (1, Op::Bin32Const(Bin::Add, 3))
        );
        assert_eq!(
            fuse(&[Op::Const(3)], Op::Bin64(Bin::Shl)),
            (1, Op::Bin64Const(Bin::Shl, 3))
        );
        assert_eq!(
            fuse(&[Op::LocalGet(2), Op::Const(0xff)], Op::Bin32(Bin::And)),
            (
                2,
                Op::Local32Const {
                    op: Bin::And,
                    local: 2,
                    c: 0xff
                }
            )
        );
        // A local past u16 keeps the local.get and folds only the constant.
        assert_eq!(
            fuse(&[Op::LocalGet(70_000), Op::Const(1)], add32),
            (1, Op::Bin32Const(Bin::Add, 1))
        );
    }

    #[test]
    fn two_locals_fold_into_a_binary_operator() {
        let sub = Op::Bin32(Bin::Sub);
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::LocalGet(2)], sub),
            (
                2,
                Op::Local32Local {
                    op: Bin::Sub,
                    a: 1,
                    b: 2
                }
            )
        );
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::LocalGet(70_000)], sub),
            (0, sub)
        );
    }

    #[test]
    fn compares_fold_into_conditional_jumps() {
        let jnz = Op::JumpIfNonZero(T);
        assert_eq!(
            fuse(&[Op::Bin32(Bin::LtU)], jnz),
            (
                1,
                Op::JumpIfBin32 {
                    op: Bin::LtU,
                    target: T
                }
            )
        );
        assert_eq!(
            fuse(&[Op::Bin32Const(Bin::Eq, 6)], jnz),
            (
                1,
                Op::JumpIfBin32Const {
                    op: Bin::Eq,
                    c: 6,
                    target: T
                }
            )
        );
        let eqz = Op::Un32(Un::Eqz);
        assert_eq!(fuse(&[eqz], jnz), (1, Op::JumpIfZero(T)));
        assert_eq!(fuse(&[eqz], Op::JumpIfZero(T)), (1, Op::JumpIfNonZero(T)));
    }

    #[test]
    fn a_compare_of_a_local_with_a_constant_folds_into_its_jump() {
        let lt = Op::Local32Const {
            op: Bin::LtU,
            local: 3,
            c: 20,
        };
        let jump = |when| Op::JumpIfLocal32Const {
            op: Bin::LtU,
            when,
            local: 3,
            c: 20,
            target: T,
        };
        assert_eq!(fuse(&[lt], Op::JumpIfNonZero(T)), (1, jump(true)));
        assert_eq!(fuse(&[lt], Op::JumpIfZero(T)), (1, jump(false)));
    }

    #[test]
    fn the_shadow_stack_pointer_moves_in_one_instruction() {
        let sub = Op::Global32Const {
            op: Bin::Sub,
            global: 0,
            c: 32,
        };
        assert_eq!(
            fuse(&[Op::GlobalGet(0)], Op::Bin32Const(Bin::Sub, 32)),
            (1, sub)
        );
        let update = Op::GlobalUpdate {
            op: Bin::Sub,
            global: 0,
            local: 5,
            c: 32,
        };
        assert_eq!(fuse(&[sub, Op::LocalTee(5)], Op::GlobalSet(0)), (2, update));
        // Another global, or a local past u16, is not the same update.
        assert_eq!(
            fuse(&[sub, Op::LocalTee(5)], Op::GlobalSet(1)),
            (0, Op::GlobalSet(1))
        );
        assert_eq!(
            fuse(&[sub, Op::LocalTee(70_000)], Op::GlobalSet(0)),
            (0, Op::GlobalSet(0))
        );
        let add = Op::Local32Const {
            op: Bin::Add,
            local: 5,
            c: 32,
        };
        assert_eq!(
            fuse(&[add], Op::GlobalSet(0)),
            (
                1,
                Op::GlobalSetLocal32Const {
                    op: Bin::Add,
                    local: 5,
                    c: 32,
                    global: 0
                }
            )
        );
    }

    #[test]
    fn stores_at_a_local_take_their_value_in() {
        let store = Op::Store(Store::I32, 8);
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::Const(7)], store),
            (
                2,
                Op::StoreLocalConst {
                    kind: Store::I32,
                    local: 1,
                    offset: 8,
                    c: 7
                }
            )
        );
        // A 64-bit constant fuses only if it fits 32 bits (zero-extended).
        let store64 = Op::Store(Store::I64, 0);
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::Const(u64::from(u32::MAX))], store64),
            (
                2,
                Op::StoreLocalConst {
                    kind: Store::I64,
                    local: 1,
                    offset: 0,
                    c: u32::MAX
                }
            )
        );
        let wide = [Op::LocalGet(1), Op::Const(1 << 32)];
        assert_eq!(fuse(&wide, store64), (0, store64));
        // A narrow store of a 64-bit constant keeps its low bits.
        let store8 = Op::Store(Store::B8, 0);
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::Const(0x1_0000_00ab)], store8),
            (
                2,
                Op::StoreLocalConst {
                    kind: Store::B8,
                    local: 1,
                    offset: 0,
                    c: 0xab
                }
            )
        );
        assert_eq!(
            fuse(&[Op::LocalGet(1), Op::LocalGet(2)], store),
            (
                2,
                Op::StoreLocalLocal {
                    kind: Store::I32,
                    addr: 1,
                    value: 2,
                    offset: 8
                }
            )
        );
        let load = Op::LoadLocal {
            kind: Load::I64,
            local: 2,
            offset: 16,
        };
        assert_eq!(
            fuse(&[Op::LocalGet(1), load], store64),
            (
                2,
                Op::CopyLocal {
                    load: Load::I64,
                    store: Store::I64,
                    a: 1,
                    b: 2,
                    load_off: 16,
                    store_off: 0
                }
            )
        );
        // Locals past u16 and addresses that are not a local stay apart.
        let far = [Op::LocalGet(70_000), Op::Const(7)];
        assert_eq!(fuse(&far, store), (0, store));
        let far_value = [Op::LocalGet(1), Op::LocalGet(70_000)];
        assert_eq!(fuse(&far_value, store), (0, store));
        assert_eq!(fuse(&[Op::Const(4), Op::Const(7)], store), (0, store));
    }

    #[test]
    fn a_fixed_load_and_its_test_become_a_guard() {
        let load = Op::LoadAbs32(40);
        let guard = |op, c, when| Op::JumpIfAbs {
            kind: Load::I32,
            op,
            when,
            addr: 40,
            c,
            target: T,
        };
        let cmp = Op::JumpIfBin32Const {
            op: Bin::Ne,
            c: 6,
            target: T,
        };
        assert_eq!(fuse(&[load], cmp), (1, guard(Bin::Ne, 6, true)));
        assert_eq!(
            fuse(&[load, Op::Bin32Const(Bin::And, 2)], Op::JumpIfZero(T)),
            (2, guard(Bin::And, 2, false))
        );
        assert_eq!(
            fuse(&[load], Op::JumpIfZero(T)),
            (1, guard(Bin::Or, 0, false))
        );
        assert_eq!(
            fuse(&[load], Op::JumpIfNonZero(T)),
            (1, guard(Bin::Or, 0, true))
        );
        // A 64-bit load is not an i32 guard: the jump stays.
        let wide = Op::LoadAbs(Load::I64, 40);
        assert_eq!(fuse(&[wide], Op::JumpIfZero(T)), (0, Op::JumpIfZero(T)));
    }

    #[test]
    fn stores_to_locals_take_their_value_with_them() {
        assert_eq!(
            fuse(&[Op::Const(1)], Op::LocalSet(3)),
            (1, Op::LocalSetConst(3, 1))
        );
        assert_eq!(
            fuse(&[Op::Bin32(Bin::Xor)], Op::LocalSet(3)),
            (
                1,
                Op::Bin32Set {
                    op: Bin::Xor,
                    local: 3
                }
            )
        );
    }

    #[test]
    fn locals_feed_loads_operators_and_jumps_directly() {
        let load = Op::Load(Load::I32U16, 6);
        let load_local = Op::LoadLocal {
            kind: Load::I32U16,
            local: 4,
            offset: 6,
        };
        assert_eq!(fuse(&[Op::LocalGet(4)], load), (1, load_local));
        assert_eq!(
            fuse(&[load_local], Op::LocalSet(9)),
            (
                1,
                Op::LoadLocalSet {
                    kind: Load::I32U16,
                    local: 4,
                    offset: 6,
                    dst: 9
                }
            )
        );
        assert_eq!(
            fuse(&[Op::Const(1), Op::LocalGet(5)], Op::Bin32(Bin::And)),
            (
                1,
                Op::Bin32Local {
                    op: Bin::And,
                    local: 5
                }
            )
        );
        assert_eq!(
            fuse(&[Op::Const(1), Op::LocalGet(5)], Op::JumpIfZero(T)),
            (
                1,
                Op::JumpIfLocalZero {
                    local: 5,
                    target: T
                }
            )
        );
        let l32 = Op::Local32Const {
            op: Bin::Add,
            local: 2,
            c: 8,
        };
        assert_eq!(
            fuse(&[l32], Op::LocalSet(2)),
            (
                1,
                Op::Local32ConstSet {
                    op: Bin::Add,
                    local: 2,
                    c: 8,
                    dst: 2
                }
            )
        );
        // Locals past u16 keep the separate instructions.
        let far = Op::LocalGet(70_000);
        assert_eq!(fuse(&[far], load), (0, load));
        assert_eq!(fuse(&[far], Op::Bin32(Bin::Or)), (0, Op::Bin32(Bin::Or)));
        assert_eq!(fuse(&[far], Op::JumpIfZero(T)), (0, Op::JumpIfZero(T)));
        assert_eq!(
            fuse(&[l32], Op::LocalSet(70_000)),
            (0, Op::LocalSet(70_000))
        );
        assert_eq!(
            fuse(&[load_local], Op::LocalSet(70_000)),
            (0, Op::LocalSet(70_000))
        );
    }

    #[test]
    fn returning_a_local_is_one_instruction_when_one_value_is_returned() {
        assert_eq!(
            fuse(&[Op::LocalGet(4)], Op::Return),
            (1, Op::ReturnLocal(4))
        );
        assert_eq!(
            step(None, Some(Op::LocalGet(4)), Op::Return, false),
            (0, Op::Return)
        );
    }

    #[test]
    fn nothing_fuses_across_a_barrier() {
        // `None` before `op`: a jump may land there (a label), so the
        // instructions before it are not fused with it.
        for op in [
            Op::Bin32(Bin::Add),
            Op::JumpIfNonZero(T),
            Op::Return,
            Op::LocalSet(1),
        ] {
            assert_eq!(step(None, None, op, true), (0, op));
        }
        // And an instruction no rule takes leaves `op` alone.
        assert_eq!(fuse(&[Op::Drop], Op::Bin32(Bin::Add)).0, 0);
    }

    #[test]
    fn threading_shortens_paths_into_the_return() {
        let mut ops = [
            Op::LocalSetConst(2, 1),
            Op::ReturnLocal(2),
            Op::Jump(1),
            Op::LocalSetConst(3, 0),
            Op::ReturnLocal(2),
            Op::Jump(3),
        ];
        thread_returns(&mut ops);
        assert_eq!(
            ops,
            [
                Op::ReturnConst(1),
                Op::ReturnLocal(2),
                Op::ReturnLocal(2),
                // Another local: it falls through unchanged.
                Op::LocalSetConst(3, 0),
                Op::ReturnLocal(2),
                // Not a jump to a return.
                Op::Jump(3),
            ]
        );
    }
}
