;; Valid Wasm the fast tier does not run (table.size). The kernel used to run
;; such modules on wasmi; now every host refuses them by name.
;; expect: refused: the engine does not run
(module
  (table 1 funcref)
  (func (export "filter") (param i32) (result i32) (table.size 0)))
