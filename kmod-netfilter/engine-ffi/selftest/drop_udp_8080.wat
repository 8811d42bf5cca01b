;; Self-test filter run by wasmnf.ko at load: drop IPv4 UDP packets to port
;; 8080, accept everything else. A packet too short for the fields it reads
;; traps (packet read out of bounds) and is accepted by the fail-open policy.
(module
  (import "wasmnf" "pkt_u8" (func $u8 (param i32) (result i32)))
  (import "wasmnf" "pkt_u16" (func $u16 (param i32) (result i32)))
  (func (export "filter") (param $len i32) (result i32)
    (local $ihl i32)
    ;; version 4?
    (if (i32.ne (i32.shr_u (call $u8 (i32.const 0)) (i32.const 4)) (i32.const 4))
      (then (return (i32.const 1))))
    ;; protocol UDP?
    (if (i32.ne (call $u8 (i32.const 9)) (i32.const 17))
      (then (return (i32.const 1))))
    (local.set $ihl
      (i32.shl (i32.and (call $u8 (i32.const 0)) (i32.const 15)) (i32.const 2)))
    ;; destination port 8080?
    (if (i32.eq (call $u16 (i32.add (local.get $ihl) (i32.const 2))) (i32.const 8080))
      (then (return (i32.const 0))))
    (i32.const 1)))
