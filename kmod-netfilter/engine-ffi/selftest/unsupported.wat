;; Valid Wasm outside the fast tier's instruction set (`table.size`): the
;; engine object has no other tier, so the self-test checks that it refuses
;; this module by name at load instead of running it.
(module
  (import "wasmnf" "pkt_u8" (func $u8 (param i32) (result i32)))
  (table 1 funcref)
  (func (export "filter") (param $len i32) (result i32)
    (if (result i32)
      (i32.eq (call $u8 (i32.add (i32.const 8) (table.size 0))) (i32.const 17))
      (then (i32.const 0))
      (else (i32.const 1)))))
