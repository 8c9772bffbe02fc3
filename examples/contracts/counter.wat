;; A counter contract for xwasm (ABI version 1).
;;
;; Storage: key "count" holds the count as a u64, little-endian (8 bytes).
;; Methods:
;;   init                deploy input: empty (count starts at 0) or 8 bytes (u64 LE start value)
;;   increment           count += 1; returns the new count (8 bytes LE); emits event "incremented"
;;   get                 returns the count (8 bytes LE)
;;   reset               owner only: count = 0 (anyone else: abort "only the owner may reset")
;;   increment_and_fail  writes count + 1, then aborts: shows that a failed call changes nothing
(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "abort" (func $abort (param i32 i32)))
  (import "xwasm" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (import "xwasm" "caller" (func $caller (param i32)))
  (import "xwasm" "owner" (func $owner (param i32)))

  (memory (export "memory") 1)
  ;; 0..32 caller, 32..64 owner, 512..520 value buffer, 1024.. constants
  (data (i32.const 1024) "count")
  (data (i32.const 1040) "incremented")
  (data (i32.const 1056) "only the owner may reset")
  (data (i32.const 1088) "deliberate failure after a write")

  (func $get (result i64)
    (if (i64.eq (call $storage_read (i32.const 1024) (i32.const 5) (i32.const 512) (i32.const 8))
                (i64.const -1))
      (then (return (i64.const 0))))
    (i64.load (i32.const 512)))

  (func $set (param $value i64)
    (i64.store (i32.const 512) (local.get $value))
    (call $storage_write (i32.const 1024) (i32.const 5) (i32.const 512) (i32.const 8)))

  (func (export "init")
    (if (i32.eq (call $input_len) (i32.const 8))
      (then
        (call $input_read (i32.const 512))
        (call $set (i64.load (i32.const 512))))
      (else (call $set (i64.const 0)))))

  (func (export "increment")
    (call $set (i64.add (call $get) (i64.const 1)))
    (call $emit_event (i32.const 1040) (i32.const 11) (i32.const 512) (i32.const 8))
    (call $return_data (i32.const 512) (i32.const 8)))

  (func (export "get")
    (i64.store (i32.const 512) (call $get))
    (call $return_data (i32.const 512) (i32.const 8)))

  (func (export "reset")
    (call $caller (i32.const 0))
    (call $owner (i32.const 32))
    (if (i32.or
          (i32.or (i64.ne (i64.load (i32.const 0)) (i64.load (i32.const 32)))
                  (i64.ne (i64.load (i32.const 8)) (i64.load (i32.const 40))))
          (i32.or (i64.ne (i64.load (i32.const 16)) (i64.load (i32.const 48)))
                  (i64.ne (i64.load (i32.const 24)) (i64.load (i32.const 56)))))
      (then (call $abort (i32.const 1056) (i32.const 24))))
    (call $set (i64.const 0)))

  (func (export "increment_and_fail")
    (call $set (i64.add (call $get) (i64.const 1)))
    (call $abort (i32.const 1088) (i32.const 32))))
