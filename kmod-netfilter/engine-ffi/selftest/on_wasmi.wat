;; Runs on wasmi, not on the engine's fast tier (`table.size` is outside the
;; fast tier's instruction set), so the self-test keeps the kernel's wasmi
;; path in use: a host call, and on a short packet a trap (which wasmi boxes:
;; the allocation on the failure path).
;; Drops IPv4 UDP: reads the protocol byte at offset 8 + table.size = 9.
(module
  (import "wasmnf" "pkt_u8" (func $u8 (param i32) (result i32)))
  (table 1 funcref)
  (func (export "filter") (param $len i32) (result i32)
    (if (result i32)
      (i32.eq (call $u8 (i32.add (i32.const 8) (table.size 0))) (i32.const 17))
      (then (i32.const 0))
      (else (i32.const 1)))))
