;; A compute-heavy contract for xwasm (ABI version 1), for profiling and
;; benchmarks.
;;
;; Methods (input: a u32, little-endian; empty input means the default):
;;   fib      returns fib(n) as u64 LE, computed recursively (default n = 24)
;;   mix      runs n rounds of an integer hash over a 64-element table, then
;;            returns its checksum as u64 LE (default n = 2000); nearly all
;;            the time is in $mix_round
(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (memory (export "memory") 1)

  (func $arg (param $default i32) (result i32)
    (if (result i32) (i32.eq (call $input_len) (i32.const 4))
      (then (call $input_read (i32.const 0)) (i32.load (i32.const 0)))
      (else (local.get $default))))

  (func $fib (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else (i64.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func $mix_round (param $round i32) (local $i i32) (local $x i64)
    (loop $each
      (local.set $x (i64.load offset=1024 (i32.shl (local.get $i) (i32.const 3))))
      (local.set $x (i64.xor (local.get $x) (i64.extend_i32_u (local.get $round))))
      (local.set $x (i64.mul (local.get $x) (i64.const 0x100000001b3)))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 29))))
      (i64.store offset=1024 (i32.shl (local.get $i) (i32.const 3)) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 64)))))

  (func $checksum (result i64) (local $i i32) (local $sum i64)
    (loop $each
      (local.set $sum (i64.add (local.get $sum) (i64.load offset=1024 (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (i32.const 64))))
    (local.get $sum))

  (func (export "fib")
    (i64.store (i32.const 8) (call $fib (call $arg (i32.const 24))))
    (call $return_data (i32.const 8) (i32.const 8)))

  (func (export "mix") (local $n i32) (local $round i32)
    (local.set $n (call $arg (i32.const 2000)))
    (block $done (loop $rounds
      (br_if $done (i32.ge_u (local.get $round) (local.get $n)))
      (call $mix_round (local.get $round))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br $rounds)))
    (i64.store (i32.const 8) (call $checksum))
    (call $return_data (i32.const 8) (i32.const 8))))
