//! The fast tier's interpreter: one instance's state and the loop that runs
//! translated code over it.
//!
//! Every access to the value stack, memory, globals, table and code is
//! bounds-checked with `get`; an index out of range is a trap, never a
//! panic. The value stack and the call-frame stack are allocated when the
//! instance is created; a run allocates only if the filter grows its memory.

use super::module::{Callee, Code, Module};
use super::op::{Bin, HostFn, Load, Op, Store, Un};
use crate::config::FilterConfig;
use crate::imports::HostTrap;
use crate::imports::{self, ErrorMessage};
use crate::packet::{Ctx, PacketView};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Why a run stopped without a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trap {
    Unreachable,
    MemoryOutOfBounds,
    StackOverflow,
    DivisionByZero,
    IntegerOverflow,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    OutOfFuel,
    Host(HostTrap),
    /// The translated code broke one of its own invariants (a bug in the
    /// translator): stopped like a trap instead of panicking.
    Internal,
}

impl From<HostTrap> for Trap {
    fn from(t: HostTrap) -> Self {
        Trap::Host(t)
    }
}

/// What host functions see besides memory.
pub(crate) struct Env<'a> {
    pub packet: Option<&'a dyn PacketView>,
    pub ctx: &'a Ctx,
    pub config: &'a FilterConfig,
    pub error: &'a mut ErrorMessage,
    /// The filter's maps, and the CPU whose per-CPU values this run uses.
    pub maps: &'a crate::maps::Maps,
    pub cpu: usize,
}

/// A caller's place, saved across a call.
#[derive(Clone, Copy, Default)]
struct Frame {
    code: u32,
    pc: u32,
    fp: u32,
}

/// The callers of the running function: a stack of [`Frame`]s in storage
/// allocated once, when the instance is created. Pushing never allocates:
/// a full stack is an error the caller turns into a trap, so the packet
/// path has no growth (and no allocation-failure panic) to reach.
struct Frames {
    slots: Box<[Frame]>,
    /// Frames in use: `slots[..len]`; never above `slots.len()`.
    len: usize,
}

impl Frames {
    /// Room for `n` frames, or `None` if it cannot be allocated.
    fn with_capacity(n: usize) -> Option<Self> {
        let mut slots = Vec::new();
        crate::fallible::may_fail(|| slots.try_reserve_exact(n)).ok()?;
        slots.resize(n, Frame::default());
        Some(Frames {
            slots: slots.into_boxed_slice(),
            len: 0,
        })
    }

    /// Pushes `frame`; `Err(())` when every slot is in use.
    #[inline]
    fn push(&mut self, frame: Frame) -> Result<(), ()> {
        *self.slots.get_mut(self.len).ok_or(())? = frame;
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn pop(&mut self) -> Option<Frame> {
        self.len = self.len.checked_sub(1)?;
        self.slots.get(self.len).copied()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

const PAGE: usize = 65536;

/// Value-stack slots of an instance: every instance has the same number, so
/// the interpreter's bounds checks compare with a constant (no length held
/// in a register or reloaded from the frame).
pub(crate) const STACK_SLOTS: usize = crate::abi::limits::VALUE_STACK_BYTES / 8;

/// The value stack.
type Stack = [u64; STACK_SLOTS];

/// Masks a slot index into the stack (see `execute`'s `slot!`).
const SLOT_MASK: usize = STACK_SLOTS - 1;
const _: () = assert!(STACK_SLOTS.is_power_of_two());

/// One instance's mutable state.
pub(crate) struct Machine {
    stack: Box<Stack>,
    frames: Frames,
    max_depth: usize,
    heap: Heap,
    /// Fuel left for the current run.
    pub(crate) fuel: u64,
}

/// An instance's memory, globals and table.
struct Heap {
    globals: Vec<u64>,
    memory: Vec<u8>,
    has_memory: bool,
    /// Whether host functions may use the memory (it is exported).
    host_memory: bool,
    max_pages: usize,
    table: Vec<Option<u32>>,
}

/// Why an instance could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InstantiateError {
    /// The initial memory is over the limit.
    MemoryTooLarge,
    /// A data or element segment does not fit.
    SegmentOutOfBounds,
    /// Out of memory.
    NoMemory,
}

impl Machine {
    /// Creates an instance of `module`: memory, globals, table, segments.
    pub(crate) fn new(
        module: &Module,
        max_depth: u32,
        max_pages: u32,
    ) -> Result<Machine, InstantiateError> {
        let max_depth = max_depth as usize;
        let (initial, max_pages, has_memory) = match module.memory {
            Some((initial, maximum)) => {
                let max = maximum.map_or(max_pages, |m| m.min(max_pages));
                if initial > max_pages {
                    return Err(InstantiateError::MemoryTooLarge);
                }
                (initial as usize, max as usize, true)
            }
            None => (0, 0, false),
        };
        let mut memory = Vec::new();
        crate::fallible::may_fail(|| memory.try_reserve_exact(initial * PAGE))
            .map_err(|_| InstantiateError::NoMemory)?;
        memory.resize(initial * PAGE, 0);
        let mut table = vec![None; module.table as usize];
        for (offset, items) in &module.elems {
            place(&mut table, *offset, items)?;
        }
        for (offset, bytes) in &module.data {
            place(&mut memory, *offset, bytes)?;
        }
        let frames = Frames::with_capacity(max_depth).ok_or(InstantiateError::NoMemory)?;
        let mut stack = Vec::new();
        crate::fallible::may_fail(|| stack.try_reserve_exact(STACK_SLOTS))
            .map_err(|_| InstantiateError::NoMemory)?;
        stack.resize(STACK_SLOTS, 0);
        let stack: Box<Stack> = stack
            .into_boxed_slice()
            .try_into()
            .map_err(|_| InstantiateError::NoMemory)?;
        Ok(Machine {
            stack,
            frames,
            max_depth,
            heap: Heap {
                globals: module.globals.clone(),
                memory,
                has_memory,
                host_memory: has_memory && module.memory_exported,
                max_pages,
                table,
            },
            fuel: 0,
        })
    }

    /// The filter's memory, if it exports one.
    pub(crate) fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let heap = &mut self.heap;
        heap.host_memory.then_some(&mut heap.memory[..])
    }

    /// Calls function `func` with `args`; returns its first result (0 if it
    /// has none).
    pub(crate) fn call(
        &mut self,
        module: &Module,
        func: u32,
        args: &[u64],
        env: &mut Env<'_>,
    ) -> Result<u64, Trap> {
        let Some(&(Callee::Wasm(index), _)) = module.funcs.get(func as usize) else {
            return Err(Trap::Internal);
        };
        let code = module.codes.get(index as usize).ok_or(Trap::Internal)?;
        if args.len() > self.stack.len() {
            return Err(Trap::StackOverflow);
        }
        for (slot, arg) in self.stack.iter_mut().zip(args) {
            *slot = *arg;
        }
        enter_inline(&mut self.stack, &mut self.fuel, code, 0, args.len())?;
        let result = execute(self, module, index, code, env);
        if result.is_err() {
            // A trap leaves the callers' frames behind.
            self.frames.clear();
        }
        result
    }
}

/// Copies an active segment's `items` to `offset` in `dst` (a table or a
/// memory), or fails if it does not fit.
fn place<T: Copy>(dst: &mut [T], offset: u32, items: &[T]) -> Result<(), InstantiateError> {
    let start = offset as usize;
    start
        .checked_add(items.len())
        .and_then(|end| dst.get_mut(start..end))
        .ok_or(InstantiateError::SegmentOutOfBounds)?
        .copy_from_slice(items);
    Ok(())
}

/// Sets up the frame of `code` at `fp`, whose parameters end at `sp`:
/// charges its entry fuel, checks the stack has room and zeroes the
/// declared locals. Returns the stack pointer above the locals; execution
/// continues at [`Code::START`].
// Not inlined into the interpreter loop (calls between Wasm functions): the
// loop then keeps more of its state in registers (fewer instructions per
// packet for the example filters, measured with callgrind). The entry from
// the host inlines it.
#[inline(never)]
fn enter(
    stack: &mut Stack,
    fuel: &mut u64,
    code: &Code,
    fp: usize,
    sp: usize,
) -> Result<usize, Trap> {
    enter_inline(stack, fuel, code, fp, sp)
}

#[inline(always)]
fn enter_inline(
    stack: &mut Stack,
    fuel: &mut u64,
    code: &Code,
    fp: usize,
    sp: usize,
) -> Result<usize, Trap> {
    *fuel = fuel
        .checked_sub(u64::from(code.entry_fuel))
        .ok_or(Trap::OutOfFuel)?;
    let end = fp
        .checked_add(code.max_height as usize)
        .filter(|end| *end <= stack.len())
        .ok_or(Trap::StackOverflow)?;
    let locals_end = fp + code.locals as usize;
    if let Some(locals) = stack.get_mut(sp..locals_end.min(end)) {
        // Most functions declare a few locals: store them directly rather
        // than through a `memset` call.
        match locals {
            [] => {}
            [a] => *a = 0,
            [a, b] => (*a, *b) = (0, 0),
            [a, b, c] => (*a, *b, *c) = (0, 0, 0),
            [a, b, c, d] => (*a, *b, *c, *d) = (0, 0, 0, 0),
            more => more.fill(0),
        }
    }
    Ok(locals_end)
}

/// What the interpreter loop needs only on calls, returns, host calls and
/// fuel charges. It lives in memory and the loop reaches it through one
/// pointer, so the registers hold the hot state (stack, code, `pc`, `sp`,
/// `fp`): the loop's per-instruction cost depends on that (callgrind).
struct Cold<'r, 'e, 'p> {
    frames: &'r mut Frames,
    max_depth: usize,
    fuel: &'r mut u64,
    module: &'r Module,
    env: &'e mut Env<'p>,
    /// The running function and its index.
    code: &'r Code,
    code_index: u32,
}

/// Where the loop continues after a call or a return.
struct Resume<'r> {
    ops: &'r [Op],
    pc: usize,
    fp: usize,
    sp: usize,
}

/// Enters defined function `callee`, whose arguments end at `sp`, from the
/// running function at `pc`/`fp`.
#[inline(never)]
fn call_wasm<'r>(
    cold: &mut Cold<'r, '_, '_>,
    stack: &mut Stack,
    callee: u32,
    pc: usize,
    fp: usize,
    sp: usize,
) -> Result<Resume<'r>, Trap> {
    let module: &'r Module = cold.module;
    let next = module.codes.get(callee as usize).ok_or(Trap::Internal)?;
    push_frame(cold.frames, cold.max_depth, cold.code_index, pc, fp)?;
    let fp = sp.checked_sub(next.params as usize).ok_or(Trap::Internal)?;
    let sp = enter(stack, cold.fuel, next, fp, sp)?;
    cold.code_index = callee;
    cold.code = next;
    Ok(Resume {
        ops: &next.ops,
        pc: Code::START,
        fp,
        sp,
    })
}

/// Returns from the running function (frame at `fp`, stack ending at
/// `sp`): `Ok(Err(first result))` from the outermost one, else where its
/// caller continues. `local` is the local `ReturnLocal` returns.
#[inline(never)]
#[allow(clippy::type_complexity)]
fn ret<'r>(
    cold: &mut Cold<'r, '_, '_>,
    stack: &mut Stack,
    local: Option<u32>,
    fp: usize,
    sp: usize,
) -> Result<Result<Resume<'r>, u64>, Trap> {
    // The first result (or 0) and how many there are.
    let (first, n) = match local {
        Some(l) => (*stack.get(fp + l as usize).ok_or(Trap::Internal)?, 1),
        None => match cold.code.results as usize {
            0 => (0, 0),
            1 => (*stack.get(sp.wrapping_sub(1)).ok_or(Trap::Internal)?, 1),
            n => {
                let src = sp.checked_sub(n).ok_or(Trap::Internal)?;
                // Read before the moves below may overwrite it.
                let first = *stack.get(src).ok_or(Trap::Internal)?;
                for i in 1..n {
                    let v = *stack.get(src + i).ok_or(Trap::Internal)?;
                    *stack.get_mut(fp + i).ok_or(Trap::Internal)? = v;
                }
                (first, n)
            }
        },
    };
    let Some(caller) = cold.frames.pop() else {
        return Ok(Err(first));
    };
    if n > 0 {
        *stack.get_mut(fp).ok_or(Trap::Internal)? = first;
    }
    let module: &'r Module = cold.module;
    let code = module
        .codes
        .get(caller.code as usize)
        .ok_or(Trap::Internal)?;
    cold.code_index = caller.code;
    cold.code = code;
    Ok(Ok(Resume {
        ops: &code.ops,
        pc: caller.pc as usize,
        fp: caller.fp as usize,
        sp: fp + n,
    }))
}

/// `call_indirect` through table index `i` with canonical type `canon`:
/// a host call (`Ok(Err(sp))`) or a Wasm call (where to continue).
#[inline(never)]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn call_indirect<'r>(
    cold: &mut Cold<'r, '_, '_>,
    stack: &mut Stack,
    heap: &mut Heap,
    i: u32,
    canon: u32,
    pc: usize,
    fp: usize,
    sp: usize,
) -> Result<Result<Resume<'r>, usize>, Trap> {
    let entry = heap.table.get(i as usize).ok_or(Trap::TableOutOfBounds)?;
    let func = entry.ok_or(Trap::IndirectCallToNull)?;
    let (callee, sig) = *cold.module.funcs.get(func as usize).ok_or(Trap::Internal)?;
    if sig != canon {
        return Err(Trap::BadSignature);
    }
    match callee {
        Callee::Host(f) => host(stack, heap, f, sp, cold.env).map(Err),
        Callee::Wasm(callee) => call_wasm(cold, stack, callee, pc, fp, sp).map(Ok),
    }
}

/// Runs from the start of `code`, code `index` (frame already entered at
/// 0, no callers in `frames`) until it returns; returns its first result (0
/// if it has none).
///
/// Always inlined into [`Machine::call`]: as a call of its own it costs
/// every run a second prologue and epilogue (six saved registers, a
/// 168-byte frame, a return thunk under retpolines), about 20 instructions
/// per packet on the hardened kernel, and LLVM stops inlining it on its own
/// once the loop grows (it did when five superinstructions were added).
#[inline(always)]
fn execute(
    machine: &mut Machine,
    module: &Module,
    index: u32,
    code: &Code,
    env: &mut Env<'_>,
) -> Result<u64, Trap> {
    let Machine {
        stack,
        frames,
        max_depth,
        heap,
        fuel,
    } = machine;
    let stack: &mut Stack = stack;
    let mut cold = Cold {
        frames,
        max_depth: *max_depth,
        fuel,
        module,
        env,
        code,
        code_index: index,
    };
    // The running function's instructions, kept in registers.
    let mut ops: &[Op] = &code.ops;
    let mut fp: usize = 0;
    let mut sp: usize = code.locals as usize;
    let mut pc: usize = Code::START;

    // Slot `i` of the value stack, indexed through `SLOT_MASK`: in bounds
    // by construction, so no check and no failure path per access. Every
    // index the loop uses is below `fp + max_height` of the running
    // function, which `enter_inline` checked against `STACK_SLOTS` when the
    // frame was entered, so the mask never changes an index the translator
    // computed correctly; one it got wrong would read or write another slot
    // of this instance's own stack (a wrong result, never memory outside
    // it), which the tier-differential tests and fuzzers compare against.
    macro_rules! slot {
        ($i:expr) => {
            stack[($i) & SLOT_MASK]
        };
    }
    macro_rules! pop {
        () => {{
            sp = sp.wrapping_sub(1);
            slot!(sp)
        }};
    }
    macro_rules! push {
        ($v:expr) => {{
            let v = $v;
            slot!(sp) = v;
            sp += 1;
        }};
    }
    macro_rules! top {
        () => {
            slot!(sp.wrapping_sub(1))
        };
    }
    macro_rules! resume {
        ($r:expr) => {{
            let r: Resume<'_> = $r;
            ops = r.ops;
            pc = r.pc;
            fp = r.fp;
            sp = r.sp;
        }};
    }
    // Returns from the running function (see `ret`), `local` as there.
    macro_rules! ret {
        ($local:expr) => {
            match ret(&mut cold, stack, $local, fp, sp)? {
                Ok(r) => resume!(r),
                Err(first) => return Ok(first),
            }
        };
    }
    macro_rules! branch {
        ($t:expr) => {{
            let t = *cold.code.targets.get($t as usize).ok_or(Trap::Internal)?;
            let dst = fp + t.height as usize;
            let n = t.arity as usize;
            let src = sp.checked_sub(n).ok_or(Trap::Internal)?;
            if src != dst {
                for i in 0..n {
                    let v = slot!(src + i);
                    slot!(dst + i) = v;
                }
            }
            sp = dst + n;
            pc = t.pc as usize;
        }};
    }

    loop {
        // Matched by reference: each arm loads only the fields it uses.
        let op: &Op = ops.get(pc).ok_or(Trap::Internal)?;
        pc += 1;
        match *op {
            Op::Fuel(n) => {
                *cold.fuel = cold.fuel.checked_sub(u64::from(n)).ok_or(Trap::OutOfFuel)?;
            }
            Op::LocalGet(i) => {
                let v = slot!(fp + i as usize);
                push!(v);
            }
            Op::LocalSet(i) => {
                let v = pop!();
                slot!(fp + i as usize) = v;
            }
            Op::LocalTee(i) => {
                let v = top!();
                slot!(fp + i as usize) = v;
            }
            Op::Const(v) => push!(v),
            Op::Bin32(b) => {
                let rhs = pop!() as u32;
                let lhs = top!() as u32;
                top!() = u64::from(bin32(b, lhs, rhs)?);
            }
            Op::Bin64(b) => {
                let rhs = pop!();
                let lhs = top!();
                top!() = bin64(b, lhs, rhs)?;
            }
            Op::Un32(u) => {
                let v = top!() as u32;
                top!() = u64::from(un32(u, v));
            }
            Op::Un64(u) => {
                let v = top!();
                top!() = un64(u, v);
            }
            Op::JumpIfZero(t) => {
                if pop!() as u32 == 0 {
                    pc = t as usize;
                }
            }
            Op::JumpIfNonZero(t) => {
                if pop!() as u32 != 0 {
                    pc = t as usize;
                }
            }
            Op::Jump(t) => pc = t as usize,
            Op::Load(kind, offset) => {
                let addr = top!() as u32;
                top!() = load(&heap.memory, kind, addr, offset)?;
            }
            Op::Store(kind, offset) => {
                let value = pop!();
                let addr = pop!() as u32;
                store(&mut heap.memory, kind, addr, offset, value)?;
            }
            Op::Br(t) => branch!(t),
            Op::BrIf(t) => {
                if pop!() as u32 != 0 {
                    branch!(t);
                }
            }
            Op::BrTable { first, len } => {
                let i = pop!() as u32;
                let i = i.min(len.saturating_sub(1));
                branch!(first + i);
            }
            Op::Select => {
                let cond = pop!() as u32;
                let b = pop!();
                if cond == 0 {
                    top!() = b;
                }
            }
            Op::Drop => sp = sp.wrapping_sub(1),
            Op::GlobalGet(i) => {
                let v = *heap.globals.get(i as usize).ok_or(Trap::Internal)?;
                push!(v);
            }
            Op::GlobalSet(i) => {
                let v = pop!();
                *heap.globals.get_mut(i as usize).ok_or(Trap::Internal)? = v;
            }
            Op::WrapI64 => top!() &= 0xffff_ffff,
            Op::ExtendI32S => top!() = top!() as u32 as i32 as i64 as u64,
            Op::ExtendI32U => top!() &= 0xffff_ffff,
            // The outermost function returns here, the others in `ret`.
            Op::ReturnLocal(l) if cold.frames.is_empty() => {
                return Ok(slot!(fp + l as usize));
            }
            Op::ReturnConst(c) if cold.frames.is_empty() => return Ok(c),
            Op::ReturnConst(c) => {
                // The value `ReturnLocal` would have read, where `Return`
                // finds it (the translator counted this slot: the constant
                // was pushed there before being stored).
                push!(c);
                ret!(None);
            }
            Op::Return if cold.frames.is_empty() => {
                return Ok(match cold.code.results as usize {
                    0 => 0,
                    n => slot!(sp.wrapping_sub(n)),
                });
            }
            Op::Return => ret!(None),
            Op::ReturnLocal(l) => ret!(Some(l)),
            Op::Call(callee) => resume!(call_wasm(&mut cold, stack, callee, pc, fp, sp)?),
            Op::CallHost(f) => {
                sp = host(stack, heap, f, sp, cold.env)?;
            }
            Op::CallIndirect(canon) => {
                let i = pop!() as u32;
                match call_indirect(&mut cold, stack, heap, i, canon, pc, fp, sp)? {
                    Ok(r) => resume!(r),
                    Err(new_sp) => sp = new_sp,
                }
            }
            Op::Unreachable => return Err(Trap::Unreachable),
            Op::MemorySize => push!((heap.memory.len() / PAGE) as u64),
            Op::MemoryGrow => {
                let delta = top!() as u32;
                // Pages added are zeroed: paid like bytes copied.
                if heap.can_grow(delta) {
                    charge_bytes(cold.fuel, u64::from(delta) * PAGE as u64)?;
                }
                top!() = u64::from(heap.grow(delta));
            }
            Op::MemoryCopy => {
                let n = pop!() as u32 as usize;
                let src = pop!() as u32 as usize;
                let dst = pop!() as u32 as usize;
                // Bounds first: an out-of-bounds copy traps (the
                // specification) whatever fuel its length would cost.
                let len = heap.memory.len();
                let end = match (src.checked_add(n), dst.checked_add(n)) {
                    (Some(s), Some(d)) if s <= len && d <= len => s,
                    _ => return Err(Trap::MemoryOutOfBounds),
                };
                charge_bytes(cold.fuel, n as u64)?;
                move_within(&mut heap.memory, src, end, dst).ok_or(Trap::Internal)?;
            }
            Op::LoadAbs(kind, addr) => push!(load(&heap.memory, kind, addr, 0)?),
            Op::LoadAbs8(addr) => push!(u64::from(bytes::<1>(&heap.memory, addr, 0)?[0])),
            Op::LoadAbs16(addr) => {
                push!(u64::from(u16::from_le_bytes(bytes(&heap.memory, addr, 0)?)))
            }
            Op::LoadAbs32(addr) => {
                push!(u64::from(u32::from_le_bytes(bytes(&heap.memory, addr, 0)?)))
            }
            Op::JumpIfAbs {
                kind,
                op,
                when,
                addr,
                c,
                target,
            } => {
                let v = load(&heap.memory, kind, addr, 0)? as u32;
                if (bin32(op, v, c)? != 0) == when {
                    pc = target as usize;
                }
            }
            Op::Bin32Const(b, c) => {
                let lhs = top!() as u32;
                top!() = u64::from(bin32(b, lhs, c)?);
            }
            Op::Bin64Const(b, c) => {
                let lhs = top!();
                top!() = bin64(b, lhs, c)?;
            }
            Op::Local32Const { op, local, c } => {
                let v = slot!(fp + local as usize) as u32;
                push!(u64::from(bin32(op, v, c)?));
            }
            Op::Local32Local { op, a, b } => {
                let x = slot!(fp + a as usize) as u32;
                let y = slot!(fp + b as usize) as u32;
                push!(u64::from(bin32(op, x, y)?));
            }
            Op::JumpIfBin32 { op, target } => {
                let rhs = pop!() as u32;
                let lhs = pop!() as u32;
                if bin32(op, lhs, rhs)? != 0 {
                    pc = target as usize;
                }
            }
            Op::JumpIfBin32Const { op, c, target } => {
                let lhs = pop!() as u32;
                if bin32(op, lhs, c)? != 0 {
                    pc = target as usize;
                }
            }
            Op::LocalSetConst(l, c) => slot!(fp + l as usize) = c,
            Op::Local32ConstSet { op, local, c, dst } => {
                let v = slot!(fp + local as usize) as u32;
                slot!(fp + dst as usize) = u64::from(bin32(op, v, c)?);
            }
            Op::LoadLocal {
                kind,
                local,
                offset,
            } => {
                let addr = slot!(fp + local as usize) as u32;
                push!(load(&heap.memory, kind, addr, offset)?);
            }
            Op::LoadLocalSet {
                kind,
                local,
                offset,
                dst,
            } => {
                let addr = slot!(fp + local as usize) as u32;
                slot!(fp + dst as usize) = load(&heap.memory, kind, addr, offset)?;
            }
            Op::Bin32Local { op, local } => {
                let rhs = slot!(fp + local as usize) as u32;
                let lhs = top!() as u32;
                top!() = u64::from(bin32(op, lhs, rhs)?);
            }
            Op::JumpIfLocal32Const {
                op,
                when,
                local,
                c,
                target,
            } => {
                let v = slot!(fp + local as usize) as u32;
                if (bin32(op, v, c)? != 0) == when {
                    pc = target as usize;
                }
            }
            Op::Global32Const { op, global, c } => {
                let v = *heap.globals.get(global as usize).ok_or(Trap::Internal)? as u32;
                push!(u64::from(bin32(op, v, c)?));
            }
            Op::GlobalUpdate {
                op,
                global,
                local,
                c,
            } => {
                let g = heap
                    .globals
                    .get_mut(global as usize)
                    .ok_or(Trap::Internal)?;
                let v = u64::from(bin32(op, *g as u32, c)?);
                *g = v;
                slot!(fp + local as usize) = v;
            }
            Op::GlobalSetLocal32Const {
                op,
                local,
                c,
                global,
            } => {
                let v = slot!(fp + local as usize) as u32;
                let v = u64::from(bin32(op, v, c)?);
                *heap
                    .globals
                    .get_mut(global as usize)
                    .ok_or(Trap::Internal)? = v;
            }
            Op::StoreLocalConst {
                kind,
                local,
                offset,
                c,
            } => {
                let addr = slot!(fp + local as usize) as u32;
                store(&mut heap.memory, kind, addr, offset, u64::from(c))?;
            }
            Op::StoreLocalLocal {
                kind,
                addr,
                value,
                offset,
            } => {
                let a = slot!(fp + addr as usize) as u32;
                let v = slot!(fp + value as usize);
                store(&mut heap.memory, kind, a, offset, v)?;
            }
            Op::CopyLocal {
                load: lk,
                store: sk,
                a,
                b,
                load_off,
                store_off,
            } => {
                let dst = slot!(fp + a as usize) as u32;
                let src = slot!(fp + b as usize) as u32;
                let v = load(&heap.memory, lk, src, load_off)?;
                store(&mut heap.memory, sk, dst, store_off, v)?;
            }
            Op::JumpIfLocalZero { local, target } => {
                if slot!(fp + local as usize) as u32 == 0 {
                    pc = target as usize;
                }
            }
            Op::Bin32Set { op, local } => {
                let rhs = pop!() as u32;
                let lhs = pop!() as u32;
                slot!(fp + local as usize) = u64::from(bin32(op, lhs, rhs)?);
            }
            Op::MemoryFill => {
                let n = pop!() as u32 as usize;
                let value = pop!() as u8;
                let dst = pop!() as u32 as usize;
                // Bounds first, as for `memory.copy`.
                let dst = dst
                    .checked_add(n)
                    .and_then(|end| heap.memory.get_mut(dst..end))
                    .ok_or(Trap::MemoryOutOfBounds)?;
                charge_bytes(cold.fuel, n as u64)?;
                dst.fill(value);
            }
        }
    }
}

/// Bytes a run may copy, fill or zero for one unit of fuel (wasmi's rate).
const BYTES_PER_FUEL: u64 = 64;

/// Charges `fuel` for touching `bytes` bytes of memory: bulk instructions
/// cost by size, so fuel bounds a run's time, not only its instructions.
#[inline]
fn charge_bytes(fuel: &mut u64, bytes: u64) -> Result<(), Trap> {
    *fuel = fuel
        .checked_sub(bytes / BYTES_PER_FUEL)
        .ok_or(Trap::OutOfFuel)?;
    Ok(())
}

#[inline]
fn push_frame(
    frames: &mut Frames,
    max_depth: usize,
    code: u32,
    pc: usize,
    fp: usize,
) -> Result<(), Trap> {
    // Depth counts the running function too; `frames` has the callers.
    if frames.len + 2 > max_depth {
        return Err(Trap::StackOverflow);
    }
    // Within the slots allocated at creation (`max_depth` of them): no
    // allocation, and a full stack is an overflow like the check above.
    frames
        .push(Frame {
            code,
            pc: pc as u32,
            fp: fp as u32,
        })
        .map_err(|()| Trap::StackOverflow)
}

impl Heap {
    /// Whether `memory.grow` by `delta` pages stays within the limit.
    fn can_grow(&self, delta: u32) -> bool {
        self.has_memory && self.memory.len() / PAGE + delta as usize <= self.max_pages
    }

    /// `memory.grow`: the old size in pages, or `u32::MAX` (-1).
    fn grow(&mut self, delta: u32) -> u32 {
        let old = self.memory.len() / PAGE;
        let new = old + delta as usize;
        if !self.can_grow(delta) {
            return u32::MAX;
        }
        let bytes = (new - old) * PAGE;
        if self.memory.try_reserve_exact(bytes).is_err() {
            return u32::MAX;
        }
        if zero_extend_within_capacity(&mut self.memory, bytes).is_err() {
            return u32::MAX;
        }
        old as u32
    }
}

/// `memory.copy`: moves `memory[src..end]` to `dst` as `copy_within` does
/// (overlap allowed), with the bounds as `None` instead of a panic (the
/// caller checked them already; `copy_within` would check them again with
/// a panic path the kernel must not have). Through a small buffer, in the
/// direction that reads every byte before overwriting it.
fn move_within(memory: &mut [u8], src: usize, end: usize, dst: usize) -> Option<()> {
    const CHUNK: usize = 256;
    let mut buf = [0u8; CHUNK];
    let n = end.checked_sub(src)?;
    let mut done = 0;
    while done < n {
        let k = (n - done).min(CHUNK);
        // Forward when moving down, backward when moving up.
        let at = if dst <= src { done } else { n - done - k };
        let tmp = buf.get_mut(..k)?;
        tmp.copy_from_slice(memory.get(src + at..src + at + k)?);
        memory.get_mut(dst + at..dst + at + k)?.copy_from_slice(tmp);
        done += k;
    }
    Some(())
}

/// Appends `n` zero bytes to `v` within its spare capacity: `Err(())`, and
/// `v` unchanged, if the capacity is short. Unlike `Vec::resize` it has no
/// path that grows the allocation (and so none to the allocation-failure
/// panic), which keeps `memory.grow` on the packet path free of panic sites
/// once `try_reserve_exact` has made room.
#[allow(unsafe_code)]
fn zero_extend_within_capacity(v: &mut Vec<u8>, n: usize) -> Result<(), ()> {
    let len = v.len();
    let spare = v.spare_capacity_mut().get_mut(..n).ok_or(())?;
    spare.fill(core::mem::MaybeUninit::new(0));
    // SAFETY: `len + n` is at most the capacity (the `n` bytes after `len`
    // are part of the spare capacity, checked by `get_mut` above), and those
    // bytes were initialized by the `fill` just above.
    unsafe { v.set_len(len + n) };
    Ok(())
}

/// Calls host function `f` with its arguments at the top of the stack;
/// returns the new stack pointer.
fn host(
    stack: &mut Stack,
    heap: &mut Heap,
    f: HostFn,
    sp: usize,
    env: &mut Env<'_>,
) -> Result<usize, Trap> {
    let arg = |k: usize, n: usize| -> Result<i32, Trap> {
        let i = sp.checked_sub(n).ok_or(Trap::Internal)? + k;
        Ok(*stack.get(i).ok_or(Trap::Internal)? as u32 as i32)
    };
    let memory = heap.host_memory.then_some(&mut heap.memory[..]);
    let (n, result): (usize, Option<u64>) = match f {
        HostFn::PktU8 => {
            let b = imports::pkt_bytes::<1>(env.packet, arg(0, 1)?)?;
            (1, Some(u64::from(b[0])))
        }
        HostFn::PktU16 => {
            let b = imports::pkt_bytes::<2>(env.packet, arg(0, 1)?)?;
            (1, Some(u64::from(u16::from_be_bytes(b))))
        }
        HostFn::PktU32 => {
            let b = imports::pkt_bytes::<4>(env.packet, arg(0, 1)?)?;
            (1, Some(u64::from(u32::from_be_bytes(b))))
        }
        HostFn::PktU64 => {
            let b = imports::pkt_bytes::<8>(env.packet, arg(0, 1)?)?;
            (1, Some(u64::from_be_bytes(b)))
        }
        HostFn::PktRead => {
            let (off, dst, len) = (arg(0, 3)?, arg(1, 3)?, arg(2, 3)?);
            let n = imports::pkt_read(env.packet, memory, off, dst, len)?;
            (3, Some(u64::from(n as u32)))
        }
        HostFn::Ctx => {
            let v = imports::ctx(env.packet, env.ctx, arg(0, 1)?)?;
            (1, Some(v as u64))
        }
        HostFn::ConfigGet => {
            let (k, kl, d, cap) = (arg(0, 4)?, arg(1, 4)?, arg(2, 4)?, arg(3, 4)?);
            let n = imports::config_get(env.config, memory, k, kl, d, cap)?;
            (4, Some(u64::from(n as u32)))
        }
        HostFn::SetError => {
            let (ptr, len) = (arg(0, 2)?, arg(1, 2)?);
            imports::set_error(env.error, memory.as_deref(), ptr, len)?;
            (2, None)
        }
        HostFn::MapLookup => {
            let (map, key, val) = (arg(0, 3)?, arg(1, 3)?, arg(2, 3)?);
            let r = imports::map_lookup(env.maps, env.cpu, memory, map, key, val)?;
            (3, Some(u64::from(r as u32)))
        }
        HostFn::MapLookupPkt => {
            let (map, field, val) = (arg(0, 3)?, arg(1, 3)?, arg(2, 3)?);
            let family = env.ctx.family;
            let r = imports::map_lookup_pkt(
                env.maps, env.cpu, env.packet, family, memory, map, field, val,
            )?;
            (3, Some(u64::from(r as u32)))
        }
        HostFn::MapUpdate => {
            let (map, key, val, flags) = (arg(0, 4)?, arg(1, 4)?, arg(2, 4)?, arg(3, 4)?);
            let r =
                imports::map_update(env.maps, env.cpu, memory.as_deref(), map, key, val, flags)?;
            (4, Some(u64::from(r as u32)))
        }
        HostFn::MapDelete => {
            let (map, key) = (arg(0, 2)?, arg(1, 2)?);
            let r = imports::map_delete(env.maps, memory.as_deref(), map, key)?;
            (2, Some(u64::from(r as u32)))
        }
        HostFn::MapAdd => {
            let (map, key, off) = (arg(0, 4)?, arg(1, 4)?, arg(2, 4)?);
            let i = sp.checked_sub(1).ok_or(Trap::Internal)?;
            let delta = *stack.get(i).ok_or(Trap::Internal)? as i64;
            let r = imports::map_add(env.maps, env.cpu, memory.as_deref(), map, key, off, delta)?;
            (4, Some(u64::from(r as u32)))
        }
    };
    let mut sp = sp.checked_sub(n).ok_or(Trap::Internal)?;
    if let Some(v) = result {
        *stack.get_mut(sp).ok_or(Trap::Internal)? = v;
        sp += 1;
    }
    Ok(sp)
}

/// `binary!(name, unsigned, signed)`: a binary operator on one integer
/// width (`i32` values are `u32` here, `i64` values `u64`).
macro_rules! binary {
    ($name:ident, $u:ty, $s:ty) => {
        #[inline(always)]
        fn $name(op: Bin, a: $u, b: $u) -> Result<$u, Trap> {
            let (sa, sb) = (a as $s, b as $s);
            // Shift and rotate counts are taken modulo the width.
            let n = (b % <$u>::BITS as $u) as u32;
            Ok(match op {
                Bin::Add => a.wrapping_add(b),
                Bin::Sub => a.wrapping_sub(b),
                Bin::Mul => a.wrapping_mul(b),
                Bin::DivS => {
                    if b == 0 {
                        return Err(Trap::DivisionByZero);
                    }
                    sa.checked_div(sb).ok_or(Trap::IntegerOverflow)? as $u
                }
                Bin::DivU => a.checked_div(b).ok_or(Trap::DivisionByZero)?,
                Bin::RemS => {
                    if b == 0 {
                        return Err(Trap::DivisionByZero);
                    }
                    sa.wrapping_rem(sb) as $u
                }
                Bin::RemU => a.checked_rem(b).ok_or(Trap::DivisionByZero)?,
                Bin::And => a & b,
                Bin::Or => a | b,
                Bin::Xor => a ^ b,
                Bin::Shl => a.wrapping_shl(n),
                Bin::ShrS => sa.wrapping_shr(n) as $u,
                Bin::ShrU => a.wrapping_shr(n),
                Bin::Rotl => a.rotate_left(n),
                Bin::Rotr => a.rotate_right(n),
                Bin::Eq => <$u>::from(a == b),
                Bin::Ne => <$u>::from(a != b),
                Bin::LtS => <$u>::from(sa < sb),
                Bin::LtU => <$u>::from(a < b),
                Bin::GtS => <$u>::from(sa > sb),
                Bin::GtU => <$u>::from(a > b),
                Bin::LeS => <$u>::from(sa <= sb),
                Bin::LeU => <$u>::from(a <= b),
                Bin::GeS => <$u>::from(sa >= sb),
                Bin::GeU => <$u>::from(a >= b),
            })
        }
    };
}

binary!(bin32, u32, i32);
binary!(bin64, u64, i64);

#[inline(always)]
fn un32(op: Un, v: u32) -> u32 {
    match op {
        Un::Eqz => u32::from(v == 0),
        Un::Clz => v.leading_zeros(),
        Un::Ctz => v.trailing_zeros(),
        Un::Popcnt => v.count_ones(),
        Un::Extend8S => v as u8 as i8 as i32 as u32,
        Un::Extend16S => v as u16 as i16 as i32 as u32,
        Un::Extend32S => v,
    }
}

#[inline(always)]
fn un64(op: Un, v: u64) -> u64 {
    match op {
        // `i64.eqz` gives an i32.
        Un::Eqz => u64::from(v == 0),
        Un::Clz => u64::from(v.leading_zeros()),
        Un::Ctz => u64::from(v.trailing_zeros()),
        Un::Popcnt => u64::from(v.count_ones()),
        Un::Extend8S => v as u8 as i8 as i64 as u64,
        Un::Extend16S => v as u16 as i16 as i64 as u64,
        Un::Extend32S => v as u32 as i32 as i64 as u64,
    }
}

/// The `N` bytes at `addr + offset`, or a trap.
#[inline(always)]
fn bytes<const N: usize>(memory: &[u8], addr: u32, offset: u32) -> Result<[u8; N], Trap> {
    let at = addr as usize + offset as usize;
    at.checked_add(N)
        .and_then(|end| memory.get(at..end))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(Trap::MemoryOutOfBounds)
}

#[inline(always)]
fn load(memory: &[u8], kind: Load, addr: u32, offset: u32) -> Result<u64, Trap> {
    Ok(match kind {
        Load::I32 => u64::from(u32::from_le_bytes(bytes(memory, addr, offset)?)),
        Load::I64 => u64::from_le_bytes(bytes(memory, addr, offset)?),
        Load::I32U8 => u64::from(bytes::<1>(memory, addr, offset)?[0]),
        Load::I32S8 => u64::from(bytes::<1>(memory, addr, offset)?[0] as i8 as i32 as u32),
        Load::I32U16 => u64::from(u16::from_le_bytes(bytes(memory, addr, offset)?)),
        Load::I32S16 => u64::from(i16::from_le_bytes(bytes(memory, addr, offset)?) as i32 as u32),
        Load::I64U8 => u64::from(bytes::<1>(memory, addr, offset)?[0]),
        Load::I64S8 => bytes::<1>(memory, addr, offset)?[0] as i8 as i64 as u64,
        Load::I64U16 => u64::from(u16::from_le_bytes(bytes(memory, addr, offset)?)),
        Load::I64S16 => i16::from_le_bytes(bytes(memory, addr, offset)?) as i64 as u64,
        Load::I64U32 => u64::from(u32::from_le_bytes(bytes(memory, addr, offset)?)),
        Load::I64S32 => i32::from_le_bytes(bytes(memory, addr, offset)?) as i64 as u64,
    })
}

#[inline(always)]
fn put<const N: usize>(memory: &mut [u8], addr: u32, offset: u32, v: [u8; N]) -> Result<(), Trap> {
    let at = addr as usize + offset as usize;
    at.checked_add(N)
        .and_then(|end| memory.get_mut(at..end))
        .ok_or(Trap::MemoryOutOfBounds)?
        .copy_from_slice(&v);
    Ok(())
}

#[inline(always)]
fn store(memory: &mut [u8], kind: Store, addr: u32, offset: u32, v: u64) -> Result<(), Trap> {
    match kind {
        Store::I32 | Store::B32 => put(memory, addr, offset, (v as u32).to_le_bytes()),
        Store::I64 => put(memory, addr, offset, v.to_le_bytes()),
        Store::B8 => put(memory, addr, offset, [v as u8]),
        Store::B16 => put(memory, addr, offset, (v as u16).to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `move_within` does what `copy_within` does, for overlaps either way
    /// and lengths around its buffer's size.
    #[test]
    fn move_within_is_memmove() {
        let original: Vec<u8> = (0..2048u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in [0, 1, 255, 256, 257, 700] {
            for (src, dst) in [
                (0, 1),
                (1, 0),
                (10, 300),
                (300, 10),
                (5, 5),
                (0, 1000),
                (1000, 0),
            ] {
                let mut want = original.clone();
                want.copy_within(src..src + n, dst);
                let mut got = original.clone();
                assert_eq!(move_within(&mut got, src, src + n, dst), Some(()));
                assert!(got == want, "src {src} dst {dst} n {n}");
            }
        }
        // Out of bounds: refused, memory unchanged.
        let mut m = original.clone();
        assert_eq!(move_within(&mut m, 2000, 2100, 0), None);
        assert_eq!(move_within(&mut m, 0, 100, 2000), None);
        assert!(m == original);
    }
}
