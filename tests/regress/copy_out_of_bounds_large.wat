;; found: as fill_out_of_bounds_large.wat, for memory.copy.
;; expect: accept trap: memory access out of bounds
(module
  (memory 1)
  (func (export "filter") (param i32) (result i32)
    (memory.copy (i32.const 0) (i32.const 100) (i32.const 0x7fffffff))
    (i32.const 1)))
