;; found: generated modules (issue 11). The fast tier charged bulk-memory fuel
;; (length / 64) before its bounds check, so this reported out of fuel; the
;; specification traps on an out-of-bounds memory.fill, and so does the engine
;; now, whatever the length would cost.
;; expect: accept trap: memory access out of bounds
(module
  (memory 1)
  (func (export "filter") (param i32) (result i32)
    (memory.fill (i32.const 65000) (i32.const 0) (i32.const 0x7fffffff))
    (i32.const 1)))
