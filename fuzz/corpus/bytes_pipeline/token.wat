;; A fungible token for xwasm (ABI version 1).
;;
;; Amounts are u64, little-endian (8 bytes). Addresses are 32 bytes.
;; Storage: "bal:" ++ address (36 bytes) -> balance; "supply" -> total supply.
;; Methods:
;;   init          deploy input: 8 bytes, the supply minted to the deployer (empty: 1,000,000)
;;   transfer      input: recipient (32 bytes) ++ amount (8 bytes LE); moves amount from the caller;
;;                 emits event "transfer" with data from (32) ++ to (32) ++ amount (8);
;;                 returns nothing. Aborts on bad input or insufficient balance.
;;   balance_of    input: address (32 bytes); returns its balance (8 bytes LE)
;;   total_supply  returns the supply (8 bytes LE)
(module
  (import "xwasm" "input_len" (func $input_len (result i32)))
  (import "xwasm" "input_read" (func $input_read (param i32)))
  (import "xwasm" "return_data" (func $return_data (param i32 i32)))
  (import "xwasm" "abort" (func $abort (param i32 i32)))
  (import "xwasm" "storage_read" (func $storage_read (param i32 i32 i32 i32) (result i64)))
  (import "xwasm" "storage_write" (func $storage_write (param i32 i32 i32 i32)))
  (import "xwasm" "emit_event" (func $emit_event (param i32 i32 i32 i32)))
  (import "xwasm" "caller" (func $caller (param i32)))

  (memory (export "memory") 1)
  ;; 0..32 caller; 128..168 input; 256..292 storage key; 512..520 value;
  ;; 600..672 event data; 1024.. constants
  (data (i32.const 1024) "supply")
  (data (i32.const 1040) "transfer")
  (data (i32.const 1056) "bad input: transfer takes 40 bytes")
  (data (i32.const 1104) "insufficient balance")
  (data (i32.const 1136) "bad input: balance_of takes 32 bytes")
  (data (i32.const 1184) "bad input: init takes 0 or 8 bytes")

  (func $copy32 (param $dst i32) (param $src i32)
    (i64.store (local.get $dst) (i64.load (local.get $src)))
    (i64.store offset=8 (local.get $dst) (i64.load offset=8 (local.get $src)))
    (i64.store offset=16 (local.get $dst) (i64.load offset=16 (local.get $src)))
    (i64.store offset=24 (local.get $dst) (i64.load offset=24 (local.get $src))))

  ;; Writes "bal:" ++ address at 256.
  (func $balance_key (param $address i32)
    (i32.store (i32.const 256) (i32.const 0x3a6c6162))
    (call $copy32 (i32.const 260) (local.get $address)))

  (func $balance (param $address i32) (result i64)
    (call $balance_key (local.get $address))
    (if (i64.eq (call $storage_read (i32.const 256) (i32.const 36) (i32.const 512) (i32.const 8))
                (i64.const -1))
      (then (return (i64.const 0))))
    (i64.load (i32.const 512)))

  (func $set_balance (param $address i32) (param $amount i64)
    (call $balance_key (local.get $address))
    (i64.store (i32.const 512) (local.get $amount))
    (call $storage_write (i32.const 256) (i32.const 36) (i32.const 512) (i32.const 8)))

  (func (export "init") (local $supply i64)
    (local.set $supply (i64.const 1000000))
    (if (i32.eq (call $input_len) (i32.const 8))
      (then
        (call $input_read (i32.const 128))
        (local.set $supply (i64.load (i32.const 128))))
      (else
        (if (i32.ne (call $input_len) (i32.const 0))
          (then (call $abort (i32.const 1184) (i32.const 34))))))
    (i64.store (i32.const 512) (local.get $supply))
    (call $storage_write (i32.const 1024) (i32.const 6) (i32.const 512) (i32.const 8))
    (call $caller (i32.const 0))
    (call $set_balance (i32.const 0) (local.get $supply)))

  (func (export "transfer") (local $amount i64) (local $from i64)
    (if (i32.ne (call $input_len) (i32.const 40))
      (then (call $abort (i32.const 1056) (i32.const 34))))
    (call $input_read (i32.const 128))
    (local.set $amount (i64.load (i32.const 160)))
    (call $caller (i32.const 0))
    (local.set $from (call $balance (i32.const 0)))
    (if (i64.lt_u (local.get $from) (local.get $amount))
      (then (call $abort (i32.const 1104) (i32.const 20))))
    (call $set_balance (i32.const 0) (i64.sub (local.get $from) (local.get $amount)))
    (call $set_balance (i32.const 128)
      (i64.add (call $balance (i32.const 128)) (local.get $amount)))
    (call $copy32 (i32.const 600) (i32.const 0))
    (call $copy32 (i32.const 632) (i32.const 128))
    (i64.store (i32.const 664) (local.get $amount))
    (call $emit_event (i32.const 1040) (i32.const 8) (i32.const 600) (i32.const 72)))

  (func (export "balance_of")
    (if (i32.ne (call $input_len) (i32.const 32))
      (then (call $abort (i32.const 1136) (i32.const 36))))
    (call $input_read (i32.const 128))
    (i64.store (i32.const 512) (call $balance (i32.const 128)))
    (call $return_data (i32.const 512) (i32.const 8)))

  (func (export "total_supply")
    (drop (call $storage_read (i32.const 1024) (i32.const 6) (i32.const 512) (i32.const 8)))
    (call $return_data (i32.const 512) (i32.const 8))))
