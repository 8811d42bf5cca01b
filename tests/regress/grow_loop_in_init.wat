;; found: generated modules (issue 11). On wasmi, a loop of failing
;; memory.grow overflowed the native stack before fuel ran out (the CLI
;; aborted at load). On the engine the loop is bounded by init's fuel.
;; expect: init: out of fuel
(module
  (memory 1)
  (func (export "init") (result i32)
    (loop $l (drop (memory.grow (i32.const 100000))) (br $l))
    (i32.const 0))
  (func (export "filter") (param i32) (result i32) (i32.const 1)))
