;; Self-test filter that never returns: it must run out of fuel, and the
;; packet must get the failure policy's verdict.
(module
  (func (export "filter") (param $len i32) (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
