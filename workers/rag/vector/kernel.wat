;; The vector index's hot loop in WebAssembly SIMD: the inner product of two int8 vectors.
;; Built into kernel.wasm by `npm run build:kernel` (wabt); test/rag/kernel.unit.test.ts checks
;; that the committed binary is this source's.
(module
  (memory (export "memory") 1)
  ;; Σ a[i]·b[i] over n bytes at offsets a and b (n a multiple of 16), exact in i32 for n ≤ 2^17.
  (func (export "dot8") (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $acc v128) (local $end i32) (local $va v128) (local $vb v128)
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (local.set $end (i32.add (local.get $a) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $va (v128.load (local.get $a)))
        (local.set $vb (v128.load (local.get $b)))
        (local.set $acc
          (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s
              (i16x8.extend_low_i8x16_s (local.get $va))
              (i16x8.extend_low_i8x16_s (local.get $vb)))))
        (local.set $acc
          (i32x4.add (local.get $acc)
            (i32x4.dot_i16x8_s
              (i16x8.extend_high_i8x16_s (local.get $va))
              (i16x8.extend_high_i8x16_s (local.get $vb)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $next)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc))))))
