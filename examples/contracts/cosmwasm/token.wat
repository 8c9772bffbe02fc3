;; A token as a CosmWasm 3.0 contract, written by hand (no compiler): the
;; smallest contract that moves balances the way a cw20 token does, for
;; tests of blocks of CosmWasm transactions.
;;
;; Messages (JSON; fields are found by name, numbers are decimal strings):
;;   instantiate  {"amount":"N"}                               mints N to the sender
;;   execute      {"transfer":{"recipient":"ADDR","amount":"N"}}
;;                {"burn":{"amount":"N"}}
;;                {"spin":{}}       writes, then loops until the gas runs out
;;   migrate      anything: changes nothing (a 2-argument migrate)
;;   query        {"balance":{"address":"ADDR"}}  ADDR's balance, as 12 base64
;;                digits: the 9 bytes they decode to hold the balance's
;;                66 bits (big-endian) followed by 6 zero bits
;;                anything else: answers {}
;; An overdraft answers {"error":"insufficient funds"}.
;;
;; Storage: "b" ++ address -> balance (u64 little-endian); "s" -> supply.
(module
  (import "env" "db_read" (func $db_read (param i32) (result i32)))
  (import "env" "db_write" (func $db_write (param i32 i32)))
  (memory (export "memory") 17)
  (global $heap (mut i32) (i32.const 65536))
  ;; The length of the last string $field found.
  (global $field_len (mut i32) (i32.const 0))

  (data (i32.const 256) "\22sender\22:\22")                       ;; 10 bytes
  (data (i32.const 288) "\22recipient\22:\22")                    ;; 13 bytes
  (data (i32.const 320) "\22amount\22:\22")                       ;; 10 bytes
  (data (i32.const 352) "\22transfer\22")                         ;; 10 bytes
  (data (i32.const 384) "\22burn\22")                             ;; 6 bytes
  (data (i32.const 400) "\22spin\22")                             ;; 6 bytes
  (data (i32.const 416) "s")                                      ;; the supply's key
  (data (i32.const 512) "{\22ok\22:{\22messages\22:[],\22attributes\22:[],\22events\22:[],\22data\22:null}}") ;; 62
  (data (i32.const 640) "{\22error\22:\22insufficient funds\22}") ;; 30
  (data (i32.const 704) "{\22error\22:\22unknown message\22}")    ;; 27
  (data (i32.const 768) "{\22ok\22:\22e30=\22}")                  ;; 13
  (data (i32.const 800) "\22address\22:\22")                      ;; 11 bytes
  (data (i32.const 832) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

  (func (export "interface_version_8"))

  ;; A Region of `size` bytes on the bump heap (never freed: one call's
  ;; instance is dropped after it).
  (func $allocate (export "allocate") (param $size i32) (result i32)
    (local $region i32)
    (local.set $region (global.get $heap))
    (i32.store (local.get $region) (i32.add (local.get $region) (i32.const 16)))
    (i32.store offset=4 (local.get $region) (local.get $size))
    (i32.store offset=8 (local.get $region) (i32.const 0))
    (global.set $heap
      (i32.and (i32.add (i32.add (local.get $region) (i32.const 23)) (local.get $size)) (i32.const -8)))
    (local.get $region))
  (func (export "deallocate") (param i32))

  ;; A Region over `len` bytes at `ptr`.
  (func $region (param $ptr i32) (param $len i32) (result i32)
    (local $region i32)
    (local.set $region (call $allocate (i32.const 0)))
    (i32.store (local.get $region) (local.get $ptr))
    (i32.store offset=4 (local.get $region) (local.get $len))
    (i32.store offset=8 (local.get $region) (local.get $len))
    (local.get $region))

  ;; Where `needle` starts in `hay`, or -1.
  (func $find (param $hay i32) (param $hay_len i32) (param $needle i32) (param $needle_len i32) (result i32)
    (local $i i32) (local $j i32)
    (block $none
      (loop $next
        (br_if $none (i32.gt_s (i32.add (local.get $i) (local.get $needle_len)) (local.get $hay_len)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $compare
            (if (i32.eq (local.get $j) (local.get $needle_len)) (then (return (local.get $i))))
            (br_if $mismatch
              (i32.ne (i32.load8_u (i32.add (i32.add (local.get $hay) (local.get $i)) (local.get $j)))
                      (i32.load8_u (i32.add (local.get $needle) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $compare)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; The string value after `needle` (which ends with the opening quote)
  ;; in the Region `data`: its address (0 when absent), its length up to
  ;; the closing quote in $field_len.
  (func $field (param $data i32) (param $needle i32) (param $needle_len i32) (result i32)
    (local $hay i32) (local $len i32) (local $at i32) (local $end i32)
    (local.set $hay (i32.load (local.get $data)))
    (local.set $len (i32.load offset=8 (local.get $data)))
    (local.set $at (call $find (local.get $hay) (local.get $len) (local.get $needle) (local.get $needle_len)))
    (global.set $field_len (i32.const 0))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $at (i32.add (local.get $hay) (i32.add (local.get $at) (local.get $needle_len))))
    (local.set $end (local.get $at))
    (loop $scan
      (if (i32.and (i32.lt_u (local.get $end) (i32.add (local.get $hay) (local.get $len)))
                   (i32.ne (i32.load8_u (local.get $end)) (i32.const 34)))
        (then (local.set $end (i32.add (local.get $end) (i32.const 1))) (br $scan))))
    (global.set $field_len (i32.sub (local.get $end) (local.get $at)))
    (local.get $at))

  ;; A decimal number.
  (func $number (param $ptr i32) (param $len i32) (result i64)
    (local $n i64) (local $i i32)
    (block $done
      (loop $digit
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10))
          (i64.extend_i32_u (i32.sub (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 48)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digit)))
    (local.get $n))

  ;; The Region of the key "b" ++ address.
  (func $balance_key (param $addr i32) (param $len i32) (result i32)
    (local $key i32) (local $i i32)
    (local.set $key (call $allocate (i32.add (local.get $len) (i32.const 1))))
    (i32.store8 (i32.load (local.get $key)) (i32.const 98))
    (local.set $i (i32.const 0))
    (block $copied
      (loop $copy
        (br_if $copied (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (i32.add (i32.load (local.get $key)) (i32.const 1)) (local.get $i))
                    (i32.load8_u (i32.add (local.get $addr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (i32.store offset=8 (local.get $key) (i32.add (local.get $len) (i32.const 1)))
    (local.get $key))

  (func $read (param $key i32) (result i64)
    (local $value i32)
    (local.set $value (call $db_read (local.get $key)))
    (if (result i64) (i32.eqz (local.get $value))
      (then (i64.const 0))
      (else (i64.load (i32.load (local.get $value))))))

  (func $write (param $key i32) (param $n i64)
    (local $value i32)
    (local.set $value (call $allocate (i32.const 8)))
    (i64.store (i32.load (local.get $value)) (local.get $n))
    (i32.store offset=8 (local.get $value) (i32.const 8))
    (call $db_write (local.get $key) (local.get $value)))

  (func $ok (result i32) (call $region (i32.const 512) (i32.const 62)))

  (func (export "instantiate") (param $env i32) (param $info i32) (param $msg i32) (result i32)
    (local $sender i32) (local $sender_len i32) (local $amount i64)
    (local.set $sender (call $field (local.get $info) (i32.const 256) (i32.const 10)))
    (local.set $sender_len (global.get $field_len))
    (local.set $amount
      (call $number (call $field (local.get $msg) (i32.const 320) (i32.const 10)) (global.get $field_len)))
    (call $write (call $balance_key (local.get $sender) (local.get $sender_len)) (local.get $amount))
    (call $write (call $region (i32.const 416) (i32.const 1)) (local.get $amount))
    (call $ok))

  (func (export "execute") (param $env i32) (param $info i32) (param $msg i32) (result i32)
    (local $sender i32) (local $sender_len i32) (local $to i32) (local $to_len i32)
    (local $amount i64) (local $balance i64) (local $key i32) (local $hay i32) (local $len i32)
    (local.set $sender (call $field (local.get $info) (i32.const 256) (i32.const 10)))
    (local.set $sender_len (global.get $field_len))
    (local.set $hay (i32.load (local.get $msg)))
    (local.set $len (i32.load offset=8 (local.get $msg)))
    (local.set $key (call $balance_key (local.get $sender) (local.get $sender_len)))
    (local.set $balance (call $read (local.get $key)))
    (if (i32.ge_s (call $find (local.get $hay) (local.get $len) (i32.const 400) (i32.const 6)) (i32.const 0))
      (then
        (call $write (local.get $key) (local.get $balance))
        (loop $forever (br $forever))))
    (local.set $amount
      (call $number (call $field (local.get $msg) (i32.const 320) (i32.const 10)) (global.get $field_len)))
    (if (i64.lt_u (local.get $balance) (local.get $amount))
      (then (return (call $region (i32.const 640) (i32.const 30)))))
    (if (i32.ge_s (call $find (local.get $hay) (local.get $len) (i32.const 352) (i32.const 10)) (i32.const 0))
      (then
        (local.set $to (call $field (local.get $msg) (i32.const 288) (i32.const 13)))
        (local.set $to_len (global.get $field_len))
        (call $write (local.get $key) (i64.sub (local.get $balance) (local.get $amount)))
        (local.set $key (call $balance_key (local.get $to) (local.get $to_len)))
        (call $write (local.get $key) (i64.add (call $read (local.get $key)) (local.get $amount)))
        (return (call $ok))))
    (if (i32.ge_s (call $find (local.get $hay) (local.get $len) (i32.const 384) (i32.const 6)) (i32.const 0))
      (then
        (call $write (local.get $key) (i64.sub (local.get $balance) (local.get $amount)))
        (local.set $key (call $region (i32.const 416) (i32.const 1)))
        (call $write (local.get $key) (i64.sub (call $read (local.get $key)) (local.get $amount)))
        (return (call $ok))))
    (call $region (i32.const 704) (i32.const 27)))

  (func (export "migrate") (param $env i32) (param $msg i32) (result i32)
    (call $ok))

  ;; A balance query answers the balance; anything else answers {}.
  (func (export "query") (param $env i32) (param $msg i32) (result i32)
    (local $addr i32) (local $balance i64) (local $out i32) (local $at i32) (local $i i32)
    (local.set $addr (call $field (local.get $msg) (i32.const 800) (i32.const 11)))
    (if (i32.eqz (local.get $addr)) (then (return (call $region (i32.const 768) (i32.const 13)))))
    (local.set $balance (call $read (call $balance_key (local.get $addr) (global.get $field_len))))
    ;; {"ok":"DDDDDDDDDDDA"}: 21 bytes, the first 7 copied from the answer at 768.
    (local.set $out (call $allocate (i32.const 21)))
    (local.set $at (i32.load (local.get $out)))
    (i32.store (local.get $at) (i32.load (i32.const 768)))
    (i32.store16 offset=4 (local.get $at) (i32.load16_u (i32.const 772)))
    (i32.store8 offset=6 (local.get $at) (i32.load8_u (i32.const 774)))
    (block $done
      (loop $digit
        (br_if $done (i32.eq (local.get $i) (i32.const 11)))
        (i32.store8 offset=7 (i32.add (local.get $at) (local.get $i))
          (i32.load8_u (i32.add (i32.const 832)
            (i32.wrap_i64 (i64.and (i64.shr_u (local.get $balance)
                                              (i64.extend_i32_u (i32.mul (i32.const 6) (i32.sub (i32.const 10) (local.get $i)))))
                                   (i64.const 63))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digit)))
    (i32.store8 offset=18 (local.get $at) (i32.const 65))
    (i32.store8 offset=19 (local.get $at) (i32.const 34))
    (i32.store8 offset=20 (local.get $at) (i32.const 125))
    (i32.store offset=8 (local.get $out) (i32.const 21))
    (local.get $out)))
