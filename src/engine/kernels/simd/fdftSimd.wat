;; fdft's hand-written WebAssembly SIMD helpers, run on the tfjs wasm backend's own memory
;; (imported as env.memory), so they read and write tensors in place. Addresses are in bytes.
;; Compiled to the bytes in fdftSimdBinary.ts by `node --import tsx src/engine/kernels/simd/build.ts`.
(module
  (import "env" "memory" (memory 1))

  ;; dst[b][j][i] = src[b][i][j] for float32 blocks [rows, cols] → [cols, rows].
  ;; 4x4 tiles in SIMD registers; columns walked in bands of 32 so the 32 destination rows
  ;; being filled stay in L1; scalar loops for the edges.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $batch i32) (param $rows i32) (param $cols i32)
    (local $b i32) (local $i i32) (local $j i32) (local $jb i32) (local $jend i32) (local $k i32)
    (local $rows4 i32) (local $cols4 i32) (local $s i32) (local $d i32) (local $rb i32) (local $cb i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rb (i32.shl (local.get $rows) (i32.const 2)))   ;; dst row stride, bytes
    (local.set $cb (i32.shl (local.get $cols) (i32.const 2)))   ;; src row stride, bytes
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $batch)))
      ;; SIMD part: rows [0, rows4) x cols [0, cols4), in column bands of 32
      (local.set $jb (i32.const 0))
      (block $jbdone (loop $jbloop
        (br_if $jbdone (i32.ge_u (local.get $jb) (local.get $cols4)))
        (local.set $jend (i32.add (local.get $jb) (i32.const 32)))
        (if (i32.gt_u (local.get $jend) (local.get $cols4)) (then (local.set $jend (local.get $cols4))))
        (local.set $i (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $i) (local.get $rows4)))
          (local.set $j (local.get $jb))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $jend)))
            ;; s = src + (i*cols + j)*4
            (local.set $s (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $r0 (v128.load (local.get $s)))
            (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $cb))))
            (local.set $r2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $cb) (i32.const 1)))))
            (local.set $r3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $cb) (i32.const 3)))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            ;; d = dst + (j*rows + i)*4
            (local.set $d (i32.add (local.get $dst)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
            (v128.store (local.get $d)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $d) (local.get $rb))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $d) (i32.shl (local.get $rb) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $d) (i32.mul (local.get $rb) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $jloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $iloop)))
        (local.set $jb (local.get $jend))
        (br $jbloop)))
      ;; scalar edges: columns [cols4, cols) for rows [0, rows4), then rows [rows4, rows) for all columns
      (local.set $i (i32.const 0))
      (block $e1done (loop $e1loop
        (br_if $e1done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $j (select (local.get $cols4) (i32.const 0) (i32.lt_u (local.get $i) (local.get $rows4))))
        (block $e2done (loop $e2loop
          (br_if $e2done (i32.ge_u (local.get $j) (local.get $cols)))
          (i32.store
            (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
            (i32.load (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $e2loop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $e1loop)))
      (local.set $src (i32.add (local.get $src) (i32.mul (local.get $rows) (local.get $cb))))
      (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $rows) (local.get $cb))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))
  )

  ;; Softmax gradient over rows of length cols: dx = y · (dy − Σ_k y_k·dy_k)  (y = softmax output).
  (func (export "softmaxGrad") (param $y i32) (param $dy i32) (param $dx i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $k i32) (local $cols4 i32) (local $off i32) (local $acc v128) (local $dot f32) (local $dotv v128)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $acc (v128.const f32x4 0 0 0 0))
      (local.set $k (i32.const 0))
      (block $kdone (loop $kloop
        (br_if $kdone (i32.ge_u (local.get $k) (local.get $cols4)))
        (local.set $off (i32.shl (local.get $k) (i32.const 2)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $y) (local.get $off))) (v128.load (i32.add (local.get $dy) (local.get $off))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $kloop)))
      (local.set $dot (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $cols)))
        (local.set $off (i32.shl (local.get $k) (i32.const 2)))
        (local.set $dot (f32.add (local.get $dot)
          (f32.mul (f32.load (i32.add (local.get $y) (local.get $off))) (f32.load (i32.add (local.get $dy) (local.get $off))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tloop)))
      (local.set $dotv (f32x4.splat (local.get $dot)))
      (local.set $k (i32.const 0))
      (block $k2done (loop $k2loop
        (br_if $k2done (i32.ge_u (local.get $k) (local.get $cols4)))
        (local.set $off (i32.shl (local.get $k) (i32.const 2)))
        (v128.store (i32.add (local.get $dx) (local.get $off))
          (f32x4.mul (v128.load (i32.add (local.get $y) (local.get $off)))
            (f32x4.sub (v128.load (i32.add (local.get $dy) (local.get $off))) (local.get $dotv))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $k2loop)))
      (block $t2done (loop $t2loop
        (br_if $t2done (i32.ge_u (local.get $k) (local.get $cols)))
        (local.set $off (i32.shl (local.get $k) (i32.const 2)))
        (f32.store (i32.add (local.get $dx) (local.get $off))
          (f32.mul (f32.load (i32.add (local.get $y) (local.get $off)))
            (f32.sub (f32.load (i32.add (local.get $dy) (local.get $off))) (local.get $dot))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $t2loop)))
      (local.set $off (i32.shl (local.get $cols) (i32.const 2)))
      (local.set $y (i32.add (local.get $y) (local.get $off)))
      (local.set $dy (i32.add (local.get $dy) (local.get $off)))
      (local.set $dx (i32.add (local.get $dx) (local.get $off)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop)))
  )

  ;; Column sums in float64: acc[c] += Σ_r src[r·cols + c] for a float32 [rows, cols] block.
  ;; acc is a float64 scratch of cols entries (zeroed by the caller); 4 columns per SIMD step.
  (func (export "colSum") (param $src i32) (param $acc i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $cols4 i32) (local $a i32) (local $v v128)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $cols4)))
        (local.set $v (v128.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (v128.store (local.get $a)
          (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $a)
          (f64x2.add (v128.load offset=16 (local.get $a))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop)))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (f64.store (local.get $a)
          (f64.add (f64.load (local.get $a))
            (f64.promote_f32 (f32.load (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $tloop)))
      (local.set $src (i32.add (local.get $src) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop)))
  )
)
