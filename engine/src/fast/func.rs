//! Translation of one function body: Wasm operators to the fast tier's
//! [`Op`]s, with the control stack resolved into jumps, the value stack's
//! height tracked, fuel charged per straight-line region, and fusion
//! ([`super::fuse`]) as instructions are emitted.

use super::fuse;
use super::module::{bad, int_type, Callee, Code, Sig, Unsupported};
use super::op::{Bin, Load, Op, Store, Target, Un};
use alloc::vec::Vec;
use wasmparser::{BlockType, FunctionBody, Operator};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Block,
    Loop,
    If,
    Else,
}

/// An open block, loop or if.
struct Control {
    kind: Kind,
    /// Height (relative to `fp`) where the block's parameters start.
    height: u32,
    params: u32,
    results: u32,
    /// For loops: the loop header.
    start: u32,
    /// Jumps and targets to point at the block's end.
    patches: Vec<Patch>,
    /// For an `if`: the conditional jump to point at the `else` arm.
    else_jump: Option<usize>,
}

#[derive(Clone, Copy)]
enum Patch {
    Op(usize),
    Target(usize),
}

/// Instructions the counting form does not count: they only shape the
/// control flow the others run in.
fn structural(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Nop
            | Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::Else
            | Operator::End
    )
}

/// Translates one function body into [`Op`]s: the control stack, the
/// value-stack height, fuel regions and fusion as instructions are emitted.
pub(super) struct Translator<'a> {
    sigs: &'a [Sig],
    funcs: &'a [(Callee, u32)],
    sig: Sig,
    ops: Vec<Op>,
    targets: Vec<Target>,
    controls: Vec<Control>,
    height: u32,
    max_height: u32,
    /// Index of the current fuel region's `Fuel` and the Wasm instructions
    /// counted into it so far.
    region: usize,
    region_len: u32,
    /// The regions of the loops (and the function) around the current one.
    outer_regions: Vec<(usize, u32)>,
    /// The first instruction after the latest label: instructions from
    /// here on may be fused (no jump lands after it).
    barrier: usize,
    /// Inside dead code: how many blocks deep below the dead point.
    dead: Option<u32>,
    /// The counting form: no fusion, a `Fuel(1)` before each instruction.
    count: bool,
}

impl<'a> Translator<'a> {
    /// A translator for a function of type `sig` in a module with these
    /// types and function index space.
    pub(super) fn new(sigs: &'a [Sig], funcs: &'a [(Callee, u32)], sig: Sig, count: bool) -> Self {
        Translator {
            sigs,
            funcs,
            sig,
            ops: Vec::new(),
            targets: Vec::new(),
            controls: Vec::new(),
            height: 0,
            max_height: 0,
            region: 0,
            region_len: 0,
            outer_regions: Vec::new(),
            barrier: 0,
            dead: None,
            count,
        }
    }

    fn emit(&mut self, op: Op) {
        let op = self.fuse(op);
        self.ops.push(op);
    }

    /// The last emitted instruction, if it may be fused with the next one:
    /// it is in the current straight-line run (after its `Fuel`, which is
    /// where every jump into the run lands), so no jump targets it.
    fn fusable(&self, back: usize) -> Option<Op> {
        let at = self.ops.len().checked_sub(back)?;
        (at >= self.barrier)
            .then(|| self.ops.get(at).copied())
            .flatten()
    }

    /// Folds `op` into the instructions before it where a fused form
    /// exists; removes those and returns what to emit instead.
    fn fuse(&mut self, op: Op) -> Op {
        if self.count {
            return op;
        }
        let (prev2, prev1) = (self.fusable(2), self.fusable(1));
        let fused = fuse::step(prev2, prev1, op, self.sig.results == 1);
        self.ops.truncate(self.ops.len() - fused.0);
        // A fused form may fuse again with what is before it (`Bin32Const;
        // JumpIfNonZero` gives `JumpIfBin32Const`, which a `LoadAbs` before
        // it turns into `JumpIfAbs`).
        match fused {
            (0, op) => op,
            (_, op) => self.fuse(op),
        }
    }

    fn push(&mut self, n: u32) {
        self.height = self.height.saturating_add(n);
        self.max_height = self.max_height.max(self.height);
    }

    fn pop(&mut self, n: u32) -> Result<(), Unsupported> {
        self.height = self
            .height
            .checked_sub(n)
            .ok_or(Unsupported("an operand stack underflow"))?;
        Ok(())
    }

    /// Starts a fuel region here (function entry, loop header): its `Fuel`
    /// charges every instruction of the region, the loops inside it
    /// excepted, each time the region is entered. Every backward jump lands
    /// on a loop header and every call on a function entry, so a run's
    /// instructions never outnumber the fuel charged for them.
    fn open_region(&mut self) {
        self.outer_regions.push((self.region, self.region_len));
        self.region = self.ops.len();
        self.region_len = 0;
        self.ops.push(Op::Fuel(0));
        self.label();
    }

    /// Ends the current region (its `Fuel` gets its size) and resumes the
    /// one around it.
    fn close_region(&mut self) {
        if let Some(Op::Fuel(n)) = self.ops.get_mut(self.region) {
            // The counting form charges each instruction where it runs.
            *n = if self.count { 0 } else { self.region_len };
        }
        let (region, len) = self.outer_regions.pop().unwrap_or((0, 0));
        self.region = region;
        self.region_len = len;
    }

    /// Marks the next instruction as a jump target; returns its index.
    fn label(&mut self) -> u32 {
        self.barrier = self.ops.len();
        self.barrier as u32
    }

    fn block_type(&self, ty: BlockType) -> Result<(u32, u32), Unsupported> {
        Ok(match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(t) => {
                int_type(t)?;
                (0, 1)
            }
            BlockType::FuncType(i) => {
                let s = self
                    .sigs
                    .get(i as usize)
                    .ok_or(Unsupported("a type index"))?;
                (s.params, s.results)
            }
        })
    }

    fn open(&mut self, kind: Kind, ty: BlockType) -> Result<(), Unsupported> {
        let (params, results) = self.block_type(ty)?;
        let height = self
            .height
            .checked_sub(params)
            .ok_or(Unsupported("an operand stack underflow"))?;
        self.controls.push(Control {
            kind,
            height,
            params,
            results,
            start: 0,
            patches: Vec::new(),
            else_jump: None,
        });
        Ok(())
    }

    /// The branch to label `depth` from the current height: a plain jump if
    /// no value has to move, else a target.
    fn branch(
        &mut self,
        depth: u32,
        plain: fn(u32) -> Op,
        adjust: fn(u32) -> Op,
    ) -> Result<(), Unsupported> {
        let index = self
            .controls
            .len()
            .checked_sub(1 + depth as usize)
            .ok_or(Unsupported("a branch depth"))?;
        let target = self.target(index)?;
        let is_loop = self.controls.get(index).map(|c| c.kind) == Some(Kind::Loop);
        let patch = if self.height == target.height + target.arity {
            self.emit(plain(target.pc));
            Patch::Op(self.ops.len() - 1)
        } else {
            let t = self.targets.len();
            self.targets.push(target);
            self.emit(adjust(t as u32));
            Patch::Target(t)
        };
        if !is_loop {
            if let Some(c) = self.controls.get_mut(index) {
                c.patches.push(patch);
            }
        }
        Ok(())
    }

    /// Where a branch to control `index` goes (pc patched later for blocks).
    fn target(&self, index: usize) -> Result<Target, Unsupported> {
        let c = self
            .controls
            .get(index)
            .ok_or(Unsupported("a branch depth"))?;
        Ok(match c.kind {
            Kind::Loop => Target {
                pc: c.start,
                height: c.height,
                arity: c.params,
            },
            _ => Target {
                pc: 0,
                height: c.height,
                arity: c.results,
            },
        })
    }

    fn call(&mut self, func: u32) -> Result<(), Unsupported> {
        let (callee, canon) = *self
            .funcs
            .get(func as usize)
            .ok_or(Unsupported("a function index"))?;
        let sig = *self
            .sigs
            .get(canon as usize)
            .ok_or(Unsupported("a type index"))?;
        self.pop(sig.params)?;
        self.push(sig.results);
        self.emit(match callee {
            Callee::Host(h) => Op::CallHost(h),
            Callee::Wasm(i) => Op::Call(i),
        });
        Ok(())
    }

    /// Translates `body`.
    pub(super) fn function(mut self, body: &FunctionBody<'_>) -> Result<Code, Unsupported> {
        let mut locals = self.sig.params;
        for group in body.get_locals_reader().map_err(bad)? {
            let (n, ty) = group.map_err(bad)?;
            int_type(ty)?;
            locals = locals
                .checked_add(n)
                .ok_or(Unsupported("too many locals"))?;
        }
        self.height = locals;
        self.max_height = locals;
        self.controls.push(Control {
            kind: Kind::Block,
            height: locals,
            params: 0,
            results: self.sig.results,
            start: 0,
            patches: Vec::new(),
            else_jump: None,
        });
        self.open_region();
        let mut reader = body.get_operators_reader().map_err(bad)?;
        while !reader.eof() {
            let op = reader.read().map_err(bad)?;
            if self.dead.is_some() && !self.dead_code(&op) {
                continue;
            }
            self.region_len += 1;
            if self.count && !structural(&op) {
                self.ops.push(Op::Fuel(1));
            }
            self.operator(op)?;
            if self.controls.is_empty() {
                break;
            }
        }
        self.close_region();
        let entry_fuel = match self.ops.first() {
            Some(Op::Fuel(n)) => *n,
            _ => return Err(Unsupported("a function without an entry region")),
        };
        let mut ops = self.ops;
        if !self.count {
            fuse::thread_returns(&mut ops);
        }
        Ok(Code {
            entry_fuel,
            ops,
            targets: self.targets,
            params: self.sig.params,
            results: self.sig.results,
            locals,
            max_height: self.max_height,
        })
    }

    /// In dead code: tracks nesting; returns whether `op` ends the dead
    /// stretch (an `else` or `end` of the block that went dead).
    fn dead_code(&mut self, op: &Operator<'_>) -> bool {
        let Some(depth) = self.dead else { return true };
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.dead = Some(depth + 1);
                false
            }
            Operator::Else if depth == 0 => true,
            Operator::End if depth == 0 => true,
            Operator::End => {
                self.dead = Some(depth - 1);
                false
            }
            _ => false,
        }
    }

    fn operator(&mut self, op: Operator<'_>) -> Result<(), Unsupported> {
        use Operator as O;
        match op {
            O::Nop => {}
            O::Unreachable => {
                self.emit(Op::Unreachable);
                self.dead = Some(0);
            }
            O::Block { blockty } => self.open(Kind::Block, blockty)?,
            O::Loop { blockty } => {
                self.open(Kind::Loop, blockty)?;
                let start = self.ops.len() as u32;
                self.open_region();
                if let Some(c) = self.controls.last_mut() {
                    c.start = start;
                }
            }
            O::If { blockty } => {
                self.pop(1)?;
                self.open(Kind::If, blockty)?;
                self.emit(Op::JumpIfZero(0));
                let at = self.ops.len() - 1;
                if let Some(c) = self.controls.last_mut() {
                    c.else_jump = Some(at);
                }
            }
            O::Else => {
                let at = self.ops.len();
                self.emit(Op::Jump(0));
                let here = self.label();
                let c = self.controls.last_mut().ok_or(Unsupported("an else"))?;
                c.patches.push(Patch::Op(at));
                if let Some(j) = c.else_jump.take() {
                    if let Some(op) = self.ops.get_mut(j) {
                        set_jump(op, here);
                    }
                }
                c.kind = Kind::Else;
                self.height = c.height + c.params;
                self.dead = None;
            }
            O::End => self.end()?,
            O::Br { relative_depth } => {
                self.branch(relative_depth, Op::Jump, Op::Br)?;
                self.dead = Some(0);
            }
            O::BrIf { relative_depth } => {
                self.pop(1)?;
                self.branch(relative_depth, Op::JumpIfNonZero, Op::BrIf)?;
            }
            O::BrTable { targets } => {
                self.pop(1)?;
                let first = self.targets.len() as u32;
                let depths = targets
                    .targets()
                    .chain(core::iter::once(Ok(targets.default())));
                for depth in depths {
                    let depth = depth.map_err(bad)?;
                    let index = self
                        .controls
                        .len()
                        .checked_sub(1 + depth as usize)
                        .ok_or(Unsupported("a branch depth"))?;
                    let target = self.target(index)?;
                    let t = self.targets.len();
                    self.targets.push(target);
                    if let Some(c) = self.controls.get_mut(index) {
                        if c.kind != Kind::Loop {
                            c.patches.push(Patch::Target(t));
                        }
                    }
                }
                let len = self.targets.len() as u32 - first;
                self.emit(Op::BrTable { first, len });
                self.dead = Some(0);
            }
            O::Return => {
                self.emit(Op::Return);
                self.dead = Some(0);
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                if table_index != 0 {
                    return Err(Unsupported("a second table"));
                }
                let sig = *self
                    .sigs
                    .get(type_index as usize)
                    .ok_or(Unsupported("a type index"))?;
                self.pop(1 + sig.params)?;
                self.push(sig.results);
                self.emit(Op::CallIndirect(sig.canon));
            }
            O::Drop => {
                self.pop(1)?;
                self.emit(Op::Drop);
            }
            O::Select => self.select()?,
            O::TypedSelect { ty } => {
                int_type(ty)?;
                self.select()?;
            }
            O::LocalGet { local_index } => {
                self.push(1);
                self.emit(Op::LocalGet(local_index));
            }
            O::LocalSet { local_index } => {
                self.pop(1)?;
                self.emit(Op::LocalSet(local_index));
            }
            O::LocalTee { local_index } => self.emit(Op::LocalTee(local_index)),
            O::GlobalGet { global_index } => {
                self.push(1);
                self.emit(Op::GlobalGet(global_index));
            }
            O::GlobalSet { global_index } => {
                self.pop(1)?;
                self.emit(Op::GlobalSet(global_index));
            }
            O::I32Const { value } => self.constant(u64::from(value as u32)),
            O::I64Const { value } => self.constant(value as u64),
            O::I32Load { memarg } => self.load(Load::I32, memarg.offset)?,
            O::I64Load { memarg } => self.load(Load::I64, memarg.offset)?,
            O::I32Load8S { memarg } => self.load(Load::I32S8, memarg.offset)?,
            O::I32Load8U { memarg } => self.load(Load::I32U8, memarg.offset)?,
            O::I32Load16S { memarg } => self.load(Load::I32S16, memarg.offset)?,
            O::I32Load16U { memarg } => self.load(Load::I32U16, memarg.offset)?,
            O::I64Load8S { memarg } => self.load(Load::I64S8, memarg.offset)?,
            O::I64Load8U { memarg } => self.load(Load::I64U8, memarg.offset)?,
            O::I64Load16S { memarg } => self.load(Load::I64S16, memarg.offset)?,
            O::I64Load16U { memarg } => self.load(Load::I64U16, memarg.offset)?,
            O::I64Load32S { memarg } => self.load(Load::I64S32, memarg.offset)?,
            O::I64Load32U { memarg } => self.load(Load::I64U32, memarg.offset)?,
            O::I32Store { memarg } => self.store(Store::I32, memarg.offset)?,
            O::I64Store { memarg } => self.store(Store::I64, memarg.offset)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(Store::B8, memarg.offset)?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(Store::B16, memarg.offset)?
            }
            O::I64Store32 { memarg } => self.store(Store::B32, memarg.offset)?,
            O::MemorySize { mem: 0 } => {
                self.push(1);
                self.emit(Op::MemorySize);
            }
            O::MemoryGrow { mem: 0 } => self.emit(Op::MemoryGrow),
            O::MemoryCopy {
                dst_mem: 0,
                src_mem: 0,
            } => {
                self.pop(3)?;
                self.emit(Op::MemoryCopy);
            }
            // A dropped segment is seen only by `memory.init` / `table.init`,
            // which this tier refuses (`outside`): in a module it runs, a
            // drop changes nothing observable, so it translates to nothing.
            O::DataDrop { .. } | O::ElemDrop { .. } => {}
            O::MemoryFill { mem: 0 } => {
                self.pop(3)?;
                self.emit(Op::MemoryFill);
            }
            O::I32Eqz => self.emit(Op::Un32(Un::Eqz)),
            O::I64Eqz => self.emit(Op::Un64(Un::Eqz)),
            O::I32Clz => self.emit(Op::Un32(Un::Clz)),
            O::I32Ctz => self.emit(Op::Un32(Un::Ctz)),
            O::I32Popcnt => self.emit(Op::Un32(Un::Popcnt)),
            O::I64Clz => self.emit(Op::Un64(Un::Clz)),
            O::I64Ctz => self.emit(Op::Un64(Un::Ctz)),
            O::I64Popcnt => self.emit(Op::Un64(Un::Popcnt)),
            O::I32Extend8S => self.emit(Op::Un32(Un::Extend8S)),
            O::I32Extend16S => self.emit(Op::Un32(Un::Extend16S)),
            O::I64Extend8S => self.emit(Op::Un64(Un::Extend8S)),
            O::I64Extend16S => self.emit(Op::Un64(Un::Extend16S)),
            O::I64Extend32S => self.emit(Op::Un64(Un::Extend32S)),
            O::I32WrapI64 => self.emit(Op::WrapI64),
            O::I64ExtendI32S => self.emit(Op::ExtendI32S),
            O::I64ExtendI32U => self.emit(Op::ExtendI32U),
            other => {
                let (bin, wide) = binary(&other).ok_or_else(|| outside(&other))?;
                self.pop(1)?;
                self.emit(if wide { Op::Bin64(bin) } else { Op::Bin32(bin) });
            }
        }
        Ok(())
    }

    fn constant(&mut self, value: u64) {
        self.push(1);
        self.emit(Op::Const(value));
    }

    fn select(&mut self) -> Result<(), Unsupported> {
        self.pop(2)?;
        self.emit(Op::Select);
        Ok(())
    }

    fn load(&mut self, kind: Load, offset: u64) -> Result<(), Unsupported> {
        let offset = u32::try_from(offset).map_err(|_| Unsupported("a 64-bit offset"))?;
        self.emit(Op::Load(kind, offset));
        Ok(())
    }

    fn store(&mut self, kind: Store, offset: u64) -> Result<(), Unsupported> {
        let offset = u32::try_from(offset).map_err(|_| Unsupported("a 64-bit offset"))?;
        self.pop(2)?;
        self.emit(Op::Store(kind, offset));
        Ok(())
    }

    fn end(&mut self) -> Result<(), Unsupported> {
        let c = self.controls.pop().ok_or(Unsupported("an end"))?;
        if self.controls.is_empty() {
            // The function's own end: return what is on the stack. Branches
            // to the function's label land on this `Return`: then it must
            // not be fused with what precedes it.
            if !c.patches.is_empty() {
                self.label();
            }
            self.emit(Op::Return);
            self.end_label(c, self.ops.len().saturating_sub(1) as u32);
            return Ok(());
        }
        if c.kind == Kind::Loop {
            self.close_region();
        }
        let here = self.label();
        self.height = c.height + c.results;
        self.max_height = self.max_height.max(self.height);
        self.dead = None;
        self.end_label(c, here);
        Ok(())
    }

    /// Points every branch to `c`'s end (and an `if` without `else`) at `pc`.
    fn end_label(&mut self, c: Control, pc: u32) {
        if let Some(j) = c.else_jump {
            if let Some(op) = self.ops.get_mut(j) {
                set_jump(op, pc);
            }
        }
        for patch in c.patches {
            match patch {
                Patch::Op(i) => {
                    if let Some(op) = self.ops.get_mut(i) {
                        set_jump(op, pc);
                    }
                }
                Patch::Target(i) => {
                    if let Some(t) = self.targets.get_mut(i) {
                        t.pc = pc;
                    }
                }
            }
        }
    }
}

/// Points jump `op` at `pc`.
fn set_jump(op: &mut Op, pc: u32) {
    match op {
        Op::Jump(t)
        | Op::JumpIfNonZero(t)
        | Op::JumpIfZero(t)
        | Op::JumpIfBin32 { target: t, .. }
        | Op::JumpIfBin32Const { target: t, .. }
        | Op::JumpIfAbs { target: t, .. }
        | Op::JumpIfLocalZero { target: t, .. }
        | Op::JumpIfLocal32Const { target: t, .. } => *t = pc,
        _ => {}
    }
}

/// The binary operator `op` is, and whether it is 64-bit.
fn binary(op: &Operator<'_>) -> Option<(Bin, bool)> {
    use Operator as O;
    Some(match op {
        O::I32Add => (Bin::Add, false),
        O::I32Sub => (Bin::Sub, false),
        O::I32Mul => (Bin::Mul, false),
        O::I32DivS => (Bin::DivS, false),
        O::I32DivU => (Bin::DivU, false),
        O::I32RemS => (Bin::RemS, false),
        O::I32RemU => (Bin::RemU, false),
        O::I32And => (Bin::And, false),
        O::I32Or => (Bin::Or, false),
        O::I32Xor => (Bin::Xor, false),
        O::I32Shl => (Bin::Shl, false),
        O::I32ShrS => (Bin::ShrS, false),
        O::I32ShrU => (Bin::ShrU, false),
        O::I32Rotl => (Bin::Rotl, false),
        O::I32Rotr => (Bin::Rotr, false),
        O::I32Eq => (Bin::Eq, false),
        O::I32Ne => (Bin::Ne, false),
        O::I32LtS => (Bin::LtS, false),
        O::I32LtU => (Bin::LtU, false),
        O::I32GtS => (Bin::GtS, false),
        O::I32GtU => (Bin::GtU, false),
        O::I32LeS => (Bin::LeS, false),
        O::I32LeU => (Bin::LeU, false),
        O::I32GeS => (Bin::GeS, false),
        O::I32GeU => (Bin::GeU, false),
        O::I64Add => (Bin::Add, true),
        O::I64Sub => (Bin::Sub, true),
        O::I64Mul => (Bin::Mul, true),
        O::I64DivS => (Bin::DivS, true),
        O::I64DivU => (Bin::DivU, true),
        O::I64RemS => (Bin::RemS, true),
        O::I64RemU => (Bin::RemU, true),
        O::I64And => (Bin::And, true),
        O::I64Or => (Bin::Or, true),
        O::I64Xor => (Bin::Xor, true),
        O::I64Shl => (Bin::Shl, true),
        O::I64ShrS => (Bin::ShrS, true),
        O::I64ShrU => (Bin::ShrU, true),
        O::I64Rotl => (Bin::Rotl, true),
        O::I64Rotr => (Bin::Rotr, true),
        O::I64Eq => (Bin::Eq, true),
        O::I64Ne => (Bin::Ne, true),
        O::I64LtS => (Bin::LtS, true),
        O::I64LtU => (Bin::LtU, true),
        O::I64GtS => (Bin::GtS, true),
        O::I64GtU => (Bin::GtU, true),
        O::I64LeS => (Bin::LeS, true),
        O::I64LeU => (Bin::LeU, true),
        O::I64GeS => (Bin::GeS, true),
        O::I64GeU => (Bin::GeU, true),
        _ => return None,
    })
}

/// The instruction `op` named, for one the tier does not run.
fn outside(op: &Operator<'_>) -> Unsupported {
    use Operator as O;
    Unsupported(match op {
        O::MemoryInit { .. } => "`memory.init` (passive data segments)",
        O::TableInit { .. } => "`table.init` (passive element segments)",
        O::TableCopy { .. } => "`table.copy`",
        O::TableGet { .. } => "`table.get`",
        O::TableSet { .. } => "`table.set`",
        O::TableSize { .. } => "`table.size`",
        O::TableGrow { .. } => "`table.grow`",
        O::TableFill { .. } => "`table.fill`",
        O::RefNull { .. } => "`ref.null`",
        O::RefFunc { .. } => "`ref.func`",
        O::RefIsNull => "`ref.is_null`",
        _ => "an instruction outside its set (integer MVP, sign extension, memory.copy and memory.fill)",
    })
}
