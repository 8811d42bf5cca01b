#!/usr/bin/env bash
# Measures how many panic sites of the kernel's engine object are reachable
# from its exported functions (wasmnf_engine_*), over the object's direct
# call graph.
#
#   panic-sites.sh [OBJECT]     report (default: engine-ffi/wasmnf_engine.o_shipped)
#   panic-sites.sh --self-test  positive control on a small clang-built object
#
# This is a measurement, not a gate: it exits 0 whatever the counts are (2 if
# it cannot measure: missing tool, unreadable object). Only --self-test fails
# (exit 1) when the method does not find what it must.
#
# Method (llvm-objdump -dr --no-show-raw-insn, llvm-readelf -sSrW, llvm-cxxfilt):
#
# - Functions: the FUNC symbols of executable sections (aliases at one
#   address are one function), each covering [value, value+size). An address
#   belongs to the function whose range contains it.
# - Edges: every direct branch instruction (call, jmp, and conditional jcc,
#   which LLVM uses for conditional tail calls) whose target lies outside the
#   instruction's own function. The target comes from the relocation on the
#   instruction when there is one (R_X86_64_PLT32/PC32 against a named symbol
#   or, as `ld -r` leaves them, against a section symbol plus addend: target =
#   symbol value + addend + 4, the rel32 field being the branch's last 4
#   bytes, mapped to the function containing it), else from the resolved
#   address in the disassembly. Branches to undefined symbols are edges to
#   that external name.
# - Indirect branches are not edges; they are counted per function:
#   "icall" = `call *...`, "ijmp" = `jmp *...` without a relocation (an
#   indirect tail call, or a computed jump the method cannot tell apart),
#   "table" = `jmp *TABLE(,%reg,8)` whose table is relocated against a data
#   section (a switch jump table inside the function, not a hole in the call
#   graph). Branches to the retpoline thunks (__x86_indirect_*thunk_*) count
#   as icall/ijmp; `jmp __x86_return_thunk` is a return, not an edge.
# - Panic machinery M: the functions that directly call the module's panic
#   callback wasmnf_kmod_engine_panic (the panic handler), plus every function
#   that (a) can reach that callback by direct edges, (b) belongs to
#   core/alloc/std/__rustc (first path segment of the demangled name, or of
#   its self type for `<T as Trait>::f` and `<T>::f`), and (c) whose last two
#   path segments, generic arguments removed, contain one of: panicking, panic,
#   _fail, unwrap_failed, expect_failed, handle_alloc_error, handle_error,
#   capacity_overflow, rust_begin_unwind, already_borrowed,
#   alloc_error_handler. So core::panicking::panic_bounds_check,
#   core::slice::index::slice_index_fail, core::option::unwrap_failed,
#   alloc::raw_vec::handle_error, core::panicking::assert_failed::<..> and
#   <Vec>::split_off::assert_failed are in M; wasmparser's visit_*_cast_fail
#   (not core/alloc) and drop_in_place::<core::panic::..> (the match is in a
#   generic argument) are not, nor is a core "panic"-named function that
#   cannot reach the callback.
# - Panic site: a direct branch instruction in a function outside M whose
#   target is in M (or is the callback itself). One per instruction, so a
#   function with three bounds checks that LLVM did not merge has three.
#   A function outside M that only ever panics (a cold wrapper) holds the
#   site; its callers are not sites.
# - Reachable set of an export: the functions reached from it by edges,
#   without entering M (what runs after a panic started is not counted).
#   Reported per export: functions, panic sites, icall, ijmp, table in them,
#   and "ud2" (trap instructions: core::intrinsics::abort, or LLVM's
#   `unreachable` as rustc has it trap, usually right after a noreturn call;
#   the kernel takes ud2 as BUG(), so they are listed but not panic sites);
#   and per path: packet = wasmnf_engine_instance_run, load =
#   wasmnf_engine_filter_new + wasmnf_engine_instance_new (union), with the
#   branches out of the object (module callbacks, the kernel's mem*, and
#   under some kernel configurations __stack_chk_fail or KASAN's hooks, which
#   can stop the kernel too but are not Rust panics and not counted as
#   sites).
# - Upper bound: the same closure if every icall/ijmp could reach every
#   address-taken function (a function whose start address is the target of
#   a data relocation, e.g. a vtable entry, or of a non-branch relocation in
#   code). Direct reachability is a lower bound: trait objects (core::fmt's
#   Write/Display vtables) and function pointers hide edges.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
default_obj=$here/../engine-ffi/wasmnf_engine.o_shipped

usage() { echo "usage: $0 [OBJECT] | --self-test" >&2; exit 2; }
for t in llvm-objdump llvm-readelf llvm-cxxfilt python3; do
	command -v "$t" >/dev/null || { echo "panic-sites: $t not found" >&2; exit 2; }
done

# analyse OBJECT [--summary]: the report, or with --summary one line per
# export: name reachable_functions panic_sites icall ijmp table ud2.
analyse() {
	local obj=$1 mode=${2:-report} tmp rc=0
	[ -r "$obj" ] || { echo "panic-sites: cannot read $obj" >&2; return 2; }
	tmp=$(mktemp -d)
	llvm-objdump -dr --no-show-raw-insn "$obj" >"$tmp/dis" &&
		llvm-readelf -SW "$obj" >"$tmp/sections" &&
		llvm-readelf -sW "$obj" >"$tmp/symbols" &&
		llvm-readelf -rW "$obj" >"$tmp/relocs" || { rm -rf "$tmp"; echo "panic-sites: cannot read $obj with llvm tools" >&2; return 2; }
	python3 - "$obj" "$tmp" "$mode" <<'PY' || rc=$?
import bisect, collections, os, re, signal, subprocess, sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `| head` ends the report quietly

obj, tmp, mode = sys.argv[1:4]
CALLBACK = "wasmnf_kmod_engine_panic"
EXPORT_PREFIX = "wasmnf_engine_"
PACKET = ["wasmnf_engine_instance_run"]
LOAD = ["wasmnf_engine_filter_new", "wasmnf_engine_instance_new"]
MACHINERY_CRATES = {"core", "alloc", "std", "__rustc"}
MACHINERY_WORDS = re.compile(
    r"panicking|panic|_fail|unwrap_failed|expect_failed|handle_alloc_error|handle_error|"
    r"capacity_overflow|rust_begin_unwind|already_borrowed|alloc_error_handler")
PC_RELOCS = {"R_X86_64_PC32", "R_X86_64_PLT32"}
ABS_RELOCS = {"R_X86_64_32S", "R_X86_64_32", "R_X86_64_64"}
warnings = collections.Counter()

def read(name):
    with open(os.path.join(tmp, name)) as f:
        return f.read().splitlines()

# Sections: index -> name, type, file offset, size, flags, info (target of a REL/RELA).
sections = {}
sec_re = re.compile(r"^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
for line in read("sections"):
    m = sec_re.match(line)
    if m and int(m.group(1)) != 0:
        sections[int(m.group(1))] = dict(name=m.group(2), type=m.group(3), off=int(m.group(5), 16),
                                          size=int(m.group(6), 16), flags=m.group(8), info=int(m.group(10)))
exec_secs = {i for i, s in sections.items() if "X" in s["flags"]}
sec_by_name = collections.defaultdict(list)
for i, s in sections.items():
    sec_by_name[s["name"]].append(i)

# Symbols.
sym_re = re.compile(r"^\s*\d+:\s+([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$")
symaddr = {}            # name -> (section index or None if undefined, value)
dup_names = set()
funcsyms = []           # (sec, value, size, name, bind, type)
for line in read("symbols"):
    m = sym_re.match(line)
    if not m:
        continue
    value, size, typ, bind, _vis, ndx, name = m.groups()
    value = int(value, 16)
    size = int(size, 0) if size.startswith("0x") else int(size)
    if typ == "SECTION":
        name = sections.get(int(ndx), {}).get("name", name) if ndx.isdigit() else name
    if not name:
        continue
    if ndx == "UND":
        symaddr.setdefault(name, (None, 0))
        continue
    if not ndx.isdigit():
        continue
    sec = int(ndx)
    if name in symaddr and symaddr[name] != (sec, value):
        dup_names.add(name)
    symaddr.setdefault(name, (sec, value))
    if sec in exec_secs and typ in ("FUNC", "NOTYPE") and not name.startswith(".L"):
        funcsyms.append((sec, value, size, name, bind, typ))

# Functions: one per (section, start address).
funcs = {}              # fid -> dict(names, sec, start, end, glob)
for sec, value, size, name, bind, typ in sorted(funcsyms, key=lambda t: (t[0], t[1], t[5] != "FUNC")):
    fid = (sec, value)
    if fid not in funcs:
        if typ == "NOTYPE":
            continue    # a label; kept only if it starts a range below
        funcs[fid] = dict(names=[], sec=sec, start=value, size=size, glob=False)
    funcs[fid]["names"].append(name)
    funcs[fid]["size"] = max(funcs[fid]["size"], size)
    if bind in ("GLOBAL", "WEAK"):
        funcs[fid]["glob"] = True
starts = collections.defaultdict(list)
for (sec, start) in sorted(funcs):
    starts[sec].append(start)
for sec, lst in starts.items():
    for i, start in enumerate(lst):
        f = funcs[(sec, start)]
        nxt = lst[i + 1] if i + 1 < len(lst) else sections[sec]["size"]
        f["end"] = start + f["size"] if f["size"] > 0 else nxt

def func_at(sec, addr):
    lst = starts.get(sec)
    if not lst:
        return None
    i = bisect.bisect_right(lst, addr) - 1
    if i < 0:
        return None
    f = funcs[(sec, lst[i])]
    return (sec, lst[i]) if addr < f["end"] else None

# Names: demangle every function name in one llvm-cxxfilt run.
allnames = sorted({n for f in funcs.values() for n in f["names"]})
out = subprocess.run(["llvm-cxxfilt"], input="\n".join(allnames) + "\n", capture_output=True, text=True, check=True).stdout.splitlines()
LEGACY = {"$LT$": "<", "$GT$": ">", "$RF$": "&", "$BP$": "*", "$C$": ",", "$SP$": "@", "$u20$": " ",
          "$u27$": "'", "$u5b$": "[", "$u5d$": "]", "$u7b$": "{", "$u7d$": "}", "$u7e$": "~", "$LP$": "(", "$RP$": ")"}
def clean(d):
    d = re.sub(r"::h[0-9a-f]{16}$", "", d)
    if "$" in d:
        for k, v in LEGACY.items():
            d = d.replace(k, v)
        d = d.replace("..", "::")
    return d
demangled = {n: clean(d) for n, d in zip(allnames, out)} if len(out) == len(allnames) else {n: n for n in allnames}

def strip_generics(s):
    s = s.replace("->", "\x00")
    prev = None
    while prev != s:
        prev = s
        s = re.sub(r"::<[^<>]*>", "", s)
        s = re.sub(r"(?<=[\w\]\}])<[^<>]*>", "", s)
    return s.replace("\x00", "->")

def split_self(s):
    """`<T as Tr>::rest` / `<T>::rest` -> (T, Tr, rest); plain path -> (path, None, '')."""
    if s.startswith("<"):
        depth = 0
        for i, ch in enumerate(s):
            depth += ch == "<"
            depth -= ch == ">"
            if depth == 0:
                inner = s[1:i]
                self_ty, _, trait = inner.partition(" as ")
                return self_ty, trait or None, s[i + 1:]
    return s, None, ""

def crate_and_tail(d):
    s = strip_generics(d)
    self_ty, _trait, rest = split_self(s)
    m = re.match(r"[<&*\s]*(?:(?:mut|const|dyn)\s+)*(\w+)", self_ty)
    crate = m.group(1) if m else ""
    path = rest if s.startswith("<") else s
    segs = [x for x in path.split("::") if x]
    return crate, "::".join(segs[-2:])

SEG = r"(?:\w+|\{[\w#]+\})"
def shorten(d):
    s = strip_generics(d)
    s = re.sub(r" as (?:" + SEG + r"::)*(" + SEG + r")>", r" as \1>", s)
    s = re.sub(r"\b" + SEG + r"(?:::" + SEG + r"){3,}",
               lambda m: "::".join([m.group(0).split("::")[0]] + m.group(0).split("::")[-2:]), s)
    return s if len(s) <= 110 else s[:107] + "..."

def fname(fid):
    if fid[0] == "U":
        return fid[1]
    return demangled.get(funcs[fid]["names"][0], funcs[fid]["names"][0])

# Disassembly: instructions per section, relocations attached to the
# instruction they follow.
insn_re = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)(?:\s+(.*?))?\s*$")
rel_re = re.compile(r"^\s*([0-9a-f]+):\s+(R_X86_64_\w+)\s+(\S+)\s*$")
target_re = re.compile(r"^(\S+?)(?:([+-])0x([0-9a-f]+))?$")
insns = collections.defaultdict(list)    # sec -> [addr, mnemonic, operands, [relocs]]
cur_sec = None
for line in read("dis"):
    if line.startswith("Disassembly of section "):
        name = line[len("Disassembly of section "):].rstrip(":")
        cands = [i for i in sec_by_name.get(name, []) if i in exec_secs]
        if len(cands) != 1:
            warnings["disassembled section names that are not unique (skipped)"] += 1
            cur_sec = None
        else:
            cur_sec = cands[0]
        continue
    if cur_sec is None:
        continue
    m = rel_re.match(line)
    if m:
        if insns[cur_sec]:
            t = target_re.match(m.group(3))
            add = int(t.group(3), 16) * (-1 if t.group(2) == "-" else 1) if t.group(3) else 0
            insns[cur_sec][-1][3].append((int(m.group(1), 16), m.group(2), t.group(1), add))
        continue
    m = insn_re.match(line)
    if m and line[:1].isspace():
        insns[cur_sec].append([int(m.group(1), 16), m.group(2), m.group(3) or "", []])

PREFIXES = {"notrack", "bnd", "rep", "repz", "repnz", "repe", "repne", "ds", "cs", "lock"}
edges = collections.defaultdict(list)     # fid -> [(target id, is_call)]
branch_at = collections.defaultdict(list) # (fid, target) -> [(section, instruction index)]
stats = collections.defaultdict(lambda: collections.Counter())
addr_taken = set()
for sec, lst in insns.items():
    for k, (addr, mn, ops, rels) in enumerate(lst):
        nxt = lst[k + 1][0] if k + 1 < len(lst) else None
        src = func_at(sec, addr)
        if src is None:
            if mn not in ("nop", "nopw", "nopl", "int3", "ud2"):
                warnings["instructions outside any function symbol"] += 1
            continue
        if mn == "ud2" or mn.startswith("ud1"):
            stats[src]["ud2"] += 1
        if mn in PREFIXES and ops:
            parts = ops.split(None, 1)
            mn, ops = parts[0], parts[1] if len(parts) > 1 else ""
        is_branch = mn.startswith("call") or re.fullmatch(r"j[a-z]+", mn) is not None
        used_rel = None
        if is_branch and ops.startswith("*"):
            kind = "icall" if mn.startswith("call") else "ijmp"
            if kind == "ijmp" and any(r[1] in ABS_RELOCS and symaddr.get(r[2], (None, 0))[0] not in exec_secs | {None}
                                      for r in rels):
                kind = "table"
            stats[src][kind] += 1
            is_branch = False
        elif is_branch:
            tgt = None
            pcr = [r for r in rels if r[1] in PC_RELOCS]
            if pcr:
                used_rel = pcr[0]
                off, _typ, sym, add = used_rel
                if sym not in symaddr:
                    warnings["relocations against unknown symbols"] += 1
                else:
                    if sym in dup_names:
                        warnings["relocations against a duplicated local symbol name (first one used)"] += 1
                    tsec, tval = symaddr[sym]
                    if tsec is None:
                        tgt = ("U", sym)
                    else:
                        taddr = tval + add + 4  # the rel32 field ends the branch
                        tgt = func_at(tsec, taddr)
                        if tgt is None:
                            warnings["branch targets outside any function"] += 1
                        elif tgt != src and taddr != tgt[1]:
                            warnings["branches into the middle of another function"] += 1
            elif rels:
                warnings["branches with a relocation that is not PC-relative"] += 1
            else:
                m = re.match(r"(?:0x)?([0-9a-f]+)\b", ops)
                if m:
                    taddr = int(m.group(1), 16)
                    tgt = func_at(sec, taddr)
                    if tgt is not None and tgt != src and taddr != tgt[1]:
                        warnings["branches into the middle of another function"] += 1
            if tgt is not None and tgt[0] == "U" and tgt[1].startswith("__x86_indirect_"):
                stats[src]["icall" if mn.startswith("call") else "ijmp"] += 1
            elif tgt == ("U", "__x86_return_thunk") and not mn.startswith("call"):
                pass    # a return
            elif tgt is not None and tgt != src:
                edges[src].append((tgt, mn.startswith("call")))
                branch_at[(src, tgt)].append((sec, k))
        # Address-taken functions: non-branch relocations in code.
        for r in rels:
            if r is used_rel:
                continue
            off, typ, sym, add = r
            tsec, tval = symaddr.get(sym, (None, 0))
            if tsec in exec_secs:
                # PC-relative: relative to the end of the instruction (the
                # field's end when it is the section's last instruction).
                taddr = tval + add + (((nxt or off + 4) - off) if typ in PC_RELOCS else 0)
                if (tsec, taddr) in funcs:
                    addr_taken.add((tsec, taddr))

# Address-taken functions: relocations in allocated data sections (kept
# for reading panic Locations too).
data_relocs = {}        # (section, offset) -> (symbol, addend)
cur = None
for line in read("relocs"):
    m = re.match(r"^Relocation section '(.*)' at offset", line)
    if m:
        cands = [i for i, s in sections.items() if s["name"] == m.group(1) and s["type"] in ("RELA", "REL")]
        tsec = sections[cands[0]]["info"] if len(cands) == 1 else None
        s = sections.get(tsec)
        cur = tsec if s and tsec not in exec_secs and "A" in s["flags"] and not s["name"].startswith(".eh_frame") else None
        continue
    if cur is None:
        continue
    f = line.split()
    if len(f) >= 7 and f[2].startswith("R_X86_64_") and f[5] in "+-":
        sym = f[4]
        data_relocs[(cur, int(f[0], 16))] = (sym, int(f[6], 16) * (-1 if f[5] == "-" else 1))
        tsec, tval = symaddr.get(sym, (None, 0))
        if tsec in exec_secs:
            taddr = tval + int(f[6], 16) * (-1 if f[5] == "-" else 1)
            if f[2] in PC_RELOCS:
                continue
            if (tsec, taddr) in funcs:
                addr_taken.add((tsec, taddr))

# Panic machinery.
callback = ("U", CALLBACK)
rev = collections.defaultdict(set)
for s, lst in edges.items():
    for t, _ in lst:
        rev[t].add(s)
reaches = {callback}
work = [callback]
while work:
    t = work.pop()
    for s in rev[t]:
        if s not in reaches:
            reaches.add(s)
            work.append(s)
handlers = set(rev[callback])
machinery = {callback} | handlers
for fid in reaches:
    if fid[0] == "U":
        continue
    for n in funcs[fid]["names"]:
        crate, tail = crate_and_tail(demangled.get(n, n))
        if crate in MACHINERY_CRATES and MACHINERY_WORDS.search(tail):
            machinery.add(fid)
            break

sites = collections.defaultdict(collections.Counter)   # fid -> Counter(target fid)
for s, lst in edges.items():
    if s in machinery:
        continue
    for t, _ in lst:
        if t in machinery:
            sites[s][t] += 1

def closure(roots, with_indirect=False):
    seen, work = set(), [r for r in roots if r is not None]
    seen.update(work)
    added_taken = False
    while work:
        f = work.pop()
        nexts = [t for t, _ in edges.get(f, []) if t[0] != "U"]
        if with_indirect and not added_taken and (stats[f]["icall"] or stats[f]["ijmp"]):
            added_taken = True
            nexts += sorted(addr_taken)
        for t in nexts:
            if t not in seen and t not in machinery:
                seen.add(t)
                work.append(t)
    return seen

# The panic's source location: Rust passes `&Location` (file: &str, line:
# u32, col: u32, the file pointer relocated) in a register loaded a few
# instructions before the call; take the nearest data reference that reads
# as one. Best effort: "?" when none does (alloc failures have none).
with open(obj, "rb") as fh:
    image = fh.read()
def data_at(sec, off, n):
    s = sections.get(sec)
    if not s or s["type"] == "NOBITS" or off < 0 or off + n > s["size"]:
        return None
    return image[s["off"] + off:s["off"] + off + n]
def location(sec, off):
    r = data_relocs.get((sec, off))
    raw = data_at(sec, off + 8, 16)
    if not r or raw is None or r[0] not in symaddr or symaddr[r[0]][0] is None:
        return None
    n, line, col = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:12], "little"), int.from_bytes(raw[12:], "little")
    fsec, fval = symaddr[r[0]]
    name = data_at(fsec, fval + r[1], n) if 0 < n < 4096 else None
    try:
        name = name.decode() if name else None
    except UnicodeDecodeError:
        return None
    if not name or not name.endswith(".rs") or not 0 < line < 1 << 20:
        return None
    # From the crate's directory on: engine/src/.., core/src/.., wasmparser-0.x/src/..
    m = re.search(r".*/([^/]+/src/.*)$", name)
    return f"{m.group(1) if m else name}:{line}:{col}"
def site_location(sec, k):
    lst = insns[sec]
    for j in range(k - 1, max(-1, k - 10), -1):
        if j < k - 1 and (lst[j][1].startswith("call") or lst[j][1].startswith("jmp")):
            break
        for off, typ, sym, add in lst[j][3]:
            tsec, tval = symaddr.get(sym, (None, 0))
            if tsec is None or tsec in exec_secs:
                continue
            nxt = lst[j + 1][0]
            a = tval + add + ((nxt - off) if typ in PC_RELOCS else 0)
            loc = location(tsec, a)
            if loc:
                return loc
    return "?"

exports = sorted((f["names"][0], fid) for fid, f in funcs.items()
                 if f["glob"] and any(n.startswith(EXPORT_PREFIX) for n in f["names"]))
byname = {}
for fid, f in funcs.items():
    if f["glob"]:
        for n in f["names"]:
            byname[n] = fid

def totals(fset):
    return (len(fset), sum(sum(sites[f].values()) for f in fset),
            sum(stats[f]["icall"] for f in fset), sum(stats[f]["ijmp"] for f in fset),
            sum(stats[f]["table"] for f in fset), sum(stats[f]["ud2"] for f in fset))

if mode == "--summary":
    for name, fid in exports:
        print(name, *totals(closure([fid])))
    sys.exit(0)

size = os.path.getsize(obj)
nsites = sum(sum(c.values()) for c in sites.values())
all_direct = closure([fid for _, fid in exports])
all_upper = closure([fid for _, fid in exports], with_indirect=True)
print(f"panic-sites: {os.path.normpath(obj)}")
print(f"  {size} bytes; {len(funcs)} functions; {sum(len(v) for v in edges.values())} direct branch edges; "
      f"{len(addr_taken)} address-taken functions")
print(f"  panic machinery: {len(machinery) - 1} functions reaching {CALLBACK} "
      f"(handler: {', '.join(shorten(fname(h)) for h in sorted(handlers, key=str)) or 'none found'})")
print(f"  panic sites in the whole object (outside the machinery): {nsites} in {len(sites)} functions")
print(f"  reachable from some export: {len(all_direct)} functions directly, {len(all_upper)} by the upper bound; "
      f"not even by that: {len(funcs) - len(machinery) + 1 - len(all_upper)} functions, "
      f"{sum(sum(sites[f].values()) for f in funcs if f not in all_upper)} panic sites")
for w, n in sorted(warnings.items()):
    print(f"  note: {n} {w}")
print()
print(f"  {'':40} {'direct':^41}   {'upper bound':^12}")
print(f"  {'export':40} {'funcs':>6} {'sites':>6} {'icall':>6} {'ijmp':>6} {'table':>6} {'ud2':>6}   {'funcs':>5} {'sites':>6}")
def row(label, roots):
    d = closure(roots)
    u = closure(roots, with_indirect=True)
    t = totals(d)
    print(f"  {label:40} {t[0]:6} {t[1]:6} {t[2]:6} {t[3]:6} {t[4]:6} {t[5]:6}   {len(u):5} {totals(u)[1]:6}")
    return d
for name, fid in exports:
    row(name, [fid])
missing = [n for n in PACKET + LOAD if n not in byname]
if missing:
    print(f"  note: not in the object: {', '.join(missing)}")
paths = {}
if not set(PACKET) & set(missing):
    paths["packet path (instance_run)"] = row("= packet path (instance_run)", [byname[n] for n in PACKET])
if not set(LOAD) & set(missing):
    paths["load path (filter_new + instance_new)"] = row("= load path (filter_new + instance_new)", [byname[n] for n in LOAD])
print("  direct: by direct calls/jumps (a lower bound); sites: branches into panic machinery;")
print("  icall/ijmp: indirect calls/jumps (holes in the graph); table: switch jump tables;")
print("  ud2: trap instructions compiled in (BUG() in the kernel; mostly after noreturn calls);")
print("  upper bound: as if every icall/ijmp could reach every address-taken function")
for label, fset in paths.items():
    by_target = collections.Counter()
    for f in fset:
        for t, n in sites[f].items():
            by_target[shorten(fname(t))] += n
    print()
    print(f"{label}: panic sites by panic function called")
    for t, n in by_target.most_common():
        print(f"  {n:5}  {t}")
    print(f"{label}: top 15 functions by panic sites")
    top = sorted(((sum(sites[f].values()), shorten(fname(f))) for f in fset if sites[f]), key=lambda x: (-x[0], x[1]))
    for n, name in top[:15]:
        print(f"  {n:5}  {name}")
    if len(top) > 15:
        print(f"  ({len(top) - 15} more functions, {sum(n for n, _ in top[15:])} sites)")
    if label.startswith("packet"):
        print(f"{label}: every panic site (function -> panic function, location passed)")
        for f in sorted((f for f in fset if sites[f]), key=fname):
            for t in sorted(sites[f], key=fname):
                for sec, k in branch_at[(f, t)]:
                    print(f"  {shorten(fname(f))} -> {shorten(fname(t))}: {site_location(sec, k)}")
    ext = collections.Counter(t[1] for f in fset for t, _ in edges.get(f, []) if t[0] == "U")
    print(f"{label}: branches out of the object: " + (", ".join(f"{n} {c}" for n, c in sorted(ext.items())) or "none"))
    print(f"{label}: indirect calls/jumps by function (top 5)")
    ind = sorted(((stats[f]["icall"] + stats[f]["ijmp"], shorten(fname(f))) for f in fset
                  if stats[f]["icall"] + stats[f]["ijmp"]), key=lambda x: (-x[0], x[1]))
    for n, name in ind[:5]:
        print(f"  {n:5}  {name}")
    if len(ind) > 5:
        print(f"  ({len(ind) - 5} more functions, {sum(n for n, _ in ind[5:])} indirect branches)")
PY
	rm -rf "$tmp"
	return "$rc"
}

self_test() {
	local tmp out got ok=0 want="a:1,1,0 b:2,0,1 c:2,1,0 d:1,1,0 "
	tmp=$(mktemp -d)
	st_tmp=$tmp
	trap 'rm -rf "$st_tmp"' EXIT
	cat >"$tmp/t.c" <<'EOF'
/* panic-sites.sh --self-test. a calls the panic function: one panic site.
 * c reaches it through a static helper: one site, in the helper. d calls a
 * core panic function that reaches the callback only through a handler, as
 * Rust's panic_fmt -> rust_begin_unwind does: one site, and d's reachable
 * set stops at panic_fmt. b: no site, one indirect call, and a call to a
 * core-named function that cannot reach the callback (not machinery). */
extern void wasmnf_kmod_engine_panic(const char *msg, unsigned long len) __attribute__((noreturn));
__attribute__((noinline, noreturn)) static void _ZN4core9panicking5panic17h0000000000000000E(void)
{
	wasmnf_kmod_engine_panic("self-test", 9);
}
__attribute__((noinline, noreturn)) static void rust_begin_unwind(void) { wasmnf_kmod_engine_panic("d", 1); }
__attribute__((noinline, noreturn)) void _ZN4core9panicking9panic_fmt17h0000000000000000E(void) { rust_begin_unwind(); }
__attribute__((noinline)) int _ZN4core9panicking10panic_nope17h0000000000000000E(int x) { return x ^ 0x55; }
int wasmnf_engine_selftest_a(int x)
{
	if (x > 1000)
		_ZN4core9panicking5panic17h0000000000000000E();
	return x * 3;
}
int wasmnf_engine_selftest_b(int (*f)(int), int x) { return f(x) + _ZN4core9panicking10panic_nope17h0000000000000000E(x); }
__attribute__((noinline)) static int check(int x)
{
	if (x > 1000)
		_ZN4core9panicking5panic17h0000000000000000E();
	return x + 1;
}
int wasmnf_engine_selftest_c(int x) { return check(x) * 3; }
int wasmnf_engine_selftest_d(int x)
{
	if (x < 0)
		_ZN4core9panicking9panic_fmt17h0000000000000000E();
	return x;
}
EOF
	clang -c -O1 --target=x86_64-unknown-linux-gnu -o "$tmp/plain.o" "$tmp/t.c"
	local objs=("$tmp/plain.o")
	# The shape of the real object: one section per function, merged by
	# `ld.lld -r`, leaving relocations against .text plus addend.
	if command -v ld.lld >/dev/null; then
		clang -c -O1 --target=x86_64-unknown-linux-gnu -ffunction-sections -o "$tmp/fs.o" "$tmp/t.c"
		printf 'SECTIONS { .text : { *(.text .text.*) } }\n' >"$tmp/merge.lds"
		ld.lld -m elf_x86_64 -r -T "$tmp/merge.lds" -o "$tmp/merged.o" "$tmp/fs.o"
		objs+=("$tmp/merged.o")
	fi
	for o in "${objs[@]}"; do
		out=$(analyse "$o" --summary) || { echo "panic-sites: self-test: analysis of $(basename "$o") failed" >&2; return 1; }
		# export:functions,sites,icall
		got=$(awk '$1 ~ /^wasmnf_engine_selftest_[a-d]$/ {printf "%s:%s,%s,%s ", substr($1, 24), $2, $3, $4}' <<<"$out")
		if [ "$got" = "$want" ]; then
			echo "panic-sites: self-test: $(basename "$o"): a, c, d reach 1 panic site each, b none: ok ($got)"
		else
			echo "panic-sites: self-test: $(basename "$o"): expected '$want' (export:functions,sites,icall), got '$got':" >&2
			echo "$out" >&2
			ok=1
		fi
	done
	[ "$ok" = 0 ] && echo "panic-sites: self-test ok (${#objs[@]} objects)"
	return "$ok"
}

case "${1:-}" in
--self-test) [ $# -eq 1 ] || usage; command -v clang >/dev/null || { echo "panic-sites: clang not found" >&2; exit 2; }
	self_test || exit 1 ;;
-*) usage ;;
*) [ $# -le 1 ] || usage; analyse "${1:-$default_obj}" || exit 2 ;;
esac
exit 0
