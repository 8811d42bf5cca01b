;; found: generated modules (issue 11). wasmi 2.0.0 returns 1: it mistranslates
;; a select whose condition compares to zero. The specification: the packet
;; is not empty, eqz gives 0, select takes its second operand, 7: not a
;; verdict.
;; expect: accept invalid verdict 7
(module
  (func (export "filter") (param i32) (result i32)
    (select (i32.const 1) (i32.const 7) (i32.eqz (local.get 0)))))
