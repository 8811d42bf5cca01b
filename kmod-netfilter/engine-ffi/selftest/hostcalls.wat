;; Self-test filter that calls every host function of the ABI, makes 2000
;; Wasm calls in a loop and recurses 40 Wasm calls deep, so the measured
;; packet-path stack covers the host calls and shows whether the native
;; stack grows with executed or nested Wasm calls. (It did, by 96 bytes per
;; call, with wasmi's tail-call dispatch in the kernel build: 2000 calls hit
;; the stack guard page. engine-ffi selects `portable-dispatch`.) Accepts
;; only if every check passes; any failed check drops, which the module
;; reports as a mismatch.
(module
  (import "wasmnf" "pkt_u8" (func $pkt_u8 (param i32) (result i32)))
  (import "wasmnf" "pkt_u16" (func $pkt_u16 (param i32) (result i32)))
  (import "wasmnf" "pkt_u32" (func $pkt_u32 (param i32) (result i32)))
  (import "wasmnf" "pkt_u64" (func $pkt_u64 (param i32) (result i64)))
  (import "wasmnf" "pkt_read" (func $pkt_read (param i32 i32 i32) (result i32)))
  (import "wasmnf" "ctx" (func $ctx (param i32) (result i64)))
  (import "wasmnf" "config_get" (func $config_get (param i32 i32 i32 i32) (result i32)))
  (import "wasmnf" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "key")

  ;; depth n: n nested Wasm calls, then a host call at the bottom
  (func $deep (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $pkt_u8 (i32.const 9)))
      (else (call $deep (i32.sub (local.get $n) (i32.const 1))))))

  (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "filter") (param $len i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (call $leaf (local.get $acc)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2000))))
    (if (i32.ne (local.get $acc) (i32.const 2000)) (then (return (i32.const 0))))
    ;; ctx(LEN) is the packet length
    (if (i64.ne (call $ctx (i32.const 0)) (i64.extend_i32_u (local.get $len)))
      (then (return (i32.const 0))))
    ;; copy the 20-byte IPv4 header into memory at 64
    (if (i32.ne (call $pkt_read (i32.const 0) (i32.const 64) (i32.const 20)) (i32.const 20))
      (then (return (i32.const 0))))
    (if (i32.ne (i32.load8_u (i32.const 64)) (i32.const 0x45))
      (then (return (i32.const 0))))
    ;; no configuration was given: config_get says -1
    (if (i32.ne (call $config_get (i32.const 0) (i32.const 3) (i32.const 128) (i32.const 16)) (i32.const -1))
      (then (return (i32.const 0))))
    ;; source address 10.0.0.1, as u32 and as the top half of a u64
    (if (i32.ne (call $pkt_u32 (i32.const 12)) (i32.const 0x0a000001))
      (then (return (i32.const 0))))
    (if (i64.ne (i64.shr_u (call $pkt_u64 (i32.const 12)) (i64.const 32)) (i64.const 0x0a000001))
      (then (return (i32.const 0))))
    (if (i32.ne (call $pkt_u16 (i32.const 2)) (local.get $len))
      (then (return (i32.const 0))))
    ;; protocol byte (17, UDP) fetched 40 calls deep
    (if (i32.ne (call $deep (i32.const 20)) (i32.const 17))
      (then (return (i32.const 0))))
    (call $set_error (i32.const 0) (i32.const 3))
    (i32.const 1)))
