;; The CPU engine's two matmul kernels in WebAssembly SIMD (f64x2), computing exactly what the plain-JS kernels
;; of matmul.ts compute: every product and sum in doubles, in the same order, rounded to f32 at the same points,
;; so both give the same bits (test/unit/engine/matmul-wasm.test.ts). No fused multiply-add: WebAssembly never
;; fuses, which is what makes bit-identity possible. Pointers are byte offsets into the exported memory; the
;; JS side (matmul-wasm.ts) copies operands in and results out. Rebuild with `npm run build:wasm`.
(module
  (memory (export "memory") 1)

  ;; out(M,N) f32 += f32 of the double sum over k of a(i,k) b(j,k), summed in ascending k from 0 and rounded
  ;; once (matmul.ts `nt`). a: (M,K) f32 rows. p: b packed by pack_nt into panels of 4 columns, f64.
  (func (export "nt")
    (param $out i32) (param $a i32) (param $p i32) (param $M i32) (param $N i32) (param $K i32)
    (local $i i32) (local $jb i32) (local $nb i32) (local $k i32) (local $rowK i32) (local $rowN i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $pp i32) (local $o i32) (local $n i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local $b01 v128) (local $b23 v128) (local $x v128)
    (local.set $nb (i32.shr_u (i32.add (local.get $N) (i32.const 3)) (i32.const 2)))
    (local.set $rowK (i32.shl (local.get $K) (i32.const 2)))
    (local.set $rowN (i32.shl (local.get $N) (i32.const 2)))
    ;; four rows of a at a time: a 4x4 block of outputs in eight f64x2 accumulators
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $M)))
        (local.set $jb (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $jb) (local.get $nb)))
            (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
            (local.set $s2 (v128.const i64x2 0 0)) (local.set $s3 (v128.const i64x2 0 0))
            (local.set $s4 (v128.const i64x2 0 0)) (local.set $s5 (v128.const i64x2 0 0))
            (local.set $s6 (v128.const i64x2 0 0)) (local.set $s7 (v128.const i64x2 0 0))
            (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowK))))
            (local.set $a1 (i32.add (local.get $a0) (local.get $rowK)))
            (local.set $a2 (i32.add (local.get $a1) (local.get $rowK)))
            (local.set $a3 (i32.add (local.get $a2) (local.get $rowK)))
            (local.set $pp (i32.add (local.get $p) (i32.shl (i32.mul (local.get $jb) (local.get $K)) (i32.const 5))))
            (local.set $k (i32.const 0))
            (block $k_done
              (loop $ks
                (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
                (local.set $b01 (v128.load (local.get $pp)))
                (local.set $b23 (v128.load offset=16 (local.get $pp)))
                (local.set $x (f64x2.promote_low_f32x4 (v128.load32_splat (local.get $a0))))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x) (local.get $b01))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x) (local.get $b23))))
                (local.set $x (f64x2.promote_low_f32x4 (v128.load32_splat (local.get $a1))))
                (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $x) (local.get $b01))))
                (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $x) (local.get $b23))))
                (local.set $x (f64x2.promote_low_f32x4 (v128.load32_splat (local.get $a2))))
                (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $x) (local.get $b01))))
                (local.set $s5 (f64x2.add (local.get $s5) (f64x2.mul (local.get $x) (local.get $b23))))
                (local.set $x (f64x2.promote_low_f32x4 (v128.load32_splat (local.get $a3))))
                (local.set $s6 (f64x2.add (local.get $s6) (f64x2.mul (local.get $x) (local.get $b01))))
                (local.set $s7 (f64x2.add (local.get $s7) (f64x2.mul (local.get $x) (local.get $b23))))
                (local.set $pp (i32.add (local.get $pp) (i32.const 32)))
                (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
                (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
                (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
                (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $ks)))
            (local.set $o (i32.add (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $rowN)))
                                   (i32.shl (local.get $jb) (i32.const 4))))
            (local.set $n (i32.sub (local.get $N) (i32.shl (local.get $jb) (i32.const 2))))
            (call $add4 (local.get $o) (local.get $s0) (local.get $s1) (local.get $n))
            (local.set $o (i32.add (local.get $o) (local.get $rowN)))
            (call $add4 (local.get $o) (local.get $s2) (local.get $s3) (local.get $n))
            (local.set $o (i32.add (local.get $o) (local.get $rowN)))
            (call $add4 (local.get $o) (local.get $s4) (local.get $s5) (local.get $n))
            (local.set $o (i32.add (local.get $o) (local.get $rowN)))
            (call $add4 (local.get $o) (local.get $s6) (local.get $s7) (local.get $n))
            (local.set $jb (i32.add (local.get $jb) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    ;; the last M % 4 rows (a single decode row among them): 1x4 blocks
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $jb (i32.const 0))
        (block $tcols_done
          (loop $tcols
            (br_if $tcols_done (i32.ge_s (local.get $jb) (local.get $nb)))
            (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
            (local.set $a0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowK))))
            (local.set $pp (i32.add (local.get $p) (i32.shl (i32.mul (local.get $jb) (local.get $K)) (i32.const 5))))
            (local.set $k (i32.const 0))
            (block $tk_done
              (loop $tks
                (br_if $tk_done (i32.ge_s (local.get $k) (local.get $K)))
                (local.set $x (f64x2.promote_low_f32x4 (v128.load32_splat (local.get $a0))))
                (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $x) (v128.load (local.get $pp)))))
                (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $x) (v128.load offset=16 (local.get $pp)))))
                (local.set $pp (i32.add (local.get $pp) (i32.const 32)))
                (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tks)))
            (call $add4
              (i32.add (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $rowN))) (i32.shl (local.get $jb) (i32.const 4)))
              (local.get $s0) (local.get $s1)
              (i32.sub (local.get $N) (i32.shl (local.get $jb) (i32.const 2))))
            (local.set $jb (i32.add (local.get $jb) (i32.const 1)))
            (br $tcols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail))))

  ;; out[o..o+n) (n of 4, at most) = f32(out + s): lanes 0,1 from lo, 2,3 from hi
  (func $add4 (param $o i32) (param $lo v128) (param $hi v128) (param $n i32)
    (local $v v128)
    (if (i32.ge_s (local.get $n) (i32.const 4))
      (then
        (local.set $v (v128.load (local.get $o)))
        (v128.store (local.get $o)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.add (f64x2.promote_low_f32x4 (local.get $v)) (local.get $lo)))
            (f32x4.demote_f64x2_zero (f64x2.add
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))
              (local.get $hi)))))
        (return)))
    (call $add1 (local.get $o) (f64x2.extract_lane 0 (local.get $lo)))
    (br_if 0 (i32.lt_s (local.get $n) (i32.const 2)))
    (call $add1 (i32.add (local.get $o) (i32.const 4)) (f64x2.extract_lane 1 (local.get $lo)))
    (br_if 0 (i32.lt_s (local.get $n) (i32.const 3)))
    (call $add1 (i32.add (local.get $o) (i32.const 8)) (f64x2.extract_lane 0 (local.get $hi))))

  ;; out[o] = f32(out[o] + s)
  (func $add1 (param $o i32) (param $s f64)
    (f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (local.get $o))) (local.get $s)))))

  ;; b (N,K) f32 rows -> panels of four columns, f64: p[jb][k][l] = b(4 jb + l, k), zeros past row N
  (func (export "pack_nt") (param $b i32) (param $p i32) (param $N i32) (param $K i32)
    (local $j i32) (local $k i32) (local $nb i32) (local $src i32) (local $dst i32)
    (local.set $nb (i32.shl (i32.shr_u (i32.add (local.get $N) (i32.const 3)) (i32.const 2)) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $j) (local.get $nb)))
        ;; column l = j % 4 of panel j / 4
        (local.set $dst (i32.add (local.get $p)
          (i32.add (i32.shl (i32.mul (i32.shr_u (local.get $j) (i32.const 2)) (local.get $K)) (i32.const 5))
                   (i32.shl (i32.and (local.get $j) (i32.const 3)) (i32.const 3)))))
        (local.set $src (i32.add (local.get $b) (i32.shl (i32.mul (local.get $j) (local.get $K)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K)))
            (f64.store (local.get $dst)
              (select (f64.promote_f32 (f32.load (local.get $src))) (f64.const 0) (i32.lt_s (local.get $j) (local.get $N))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $ks)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows))))

  ;; out(i,:) (+)= sum_k a(i,k) b(k,:), a(i,k) at a + 4 (i si + k sk), b (K,N) f32 rows (matmul.ts `nn`): four rows
  ;; and four k at a time, each output rounded to f32 once per four k; s is 256 bytes of scratch for the 16
  ;; coefficients of a block, splat to f64x2.
  (func (export "nn")
    (param $out i32) (param $a i32) (param $si i32) (param $sk i32) (param $b i32)
    (param $M i32) (param $N i32) (param $K i32) (param $s i32)
    (local $i i32) (local $k i32) (local $j i32) (local $r i32) (local $c i32) (local $rowN i32) (local $N2 i32)
    (local $M4 i32) (local $K4 i32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $jj i32) (local $q i32) (local $w i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $x v128) (local $ax v128)
    (local.set $rowN (i32.shl (local.get $N) (i32.const 2)))
    (local.set $N2 (i32.and (local.get $N) (i32.const -2)))
    (local.set $M4 (i32.and (local.get $M) (i32.const -4)))
    (local.set $K4 (i32.and (local.get $K) (i32.const -4)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $M4)))
        (local.set $o0 (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $rowN))))
        (local.set $o1 (i32.add (local.get $o0) (local.get $rowN)))
        (local.set $o2 (i32.add (local.get $o1) (local.get $rowN)))
        (local.set $o3 (i32.add (local.get $o2) (local.get $rowN)))
        (local.set $k (i32.const 0))
        (block $k_done
          (loop $ks
            (br_if $k_done (i32.ge_s (local.get $k) (local.get $K4)))
            ;; s[16 r + 4 c .. as f64x2] = splat a(i + r, k + c)
            (local.set $r (i32.const 0))
            (loop $fr
              (local.set $c (i32.const 0))
              (loop $fc
                (v128.store
                  (i32.add (local.get $s) (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 2)) (local.get $c)) (i32.const 4)))
                  (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $a) (i32.shl
                    (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $si))
                             (i32.mul (i32.add (local.get $k) (local.get $c)) (local.get $sk)))
                    (i32.const 2)))))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br_if $fc (i32.lt_s (local.get $c) (i32.const 4))))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $fr (i32.lt_s (local.get $r) (i32.const 4))))
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $rowN))))
            (local.set $b1 (i32.add (local.get $b0) (local.get $rowN)))
            (local.set $b2 (i32.add (local.get $b1) (local.get $rowN)))
            (local.set $b3 (i32.add (local.get $b2) (local.get $rowN)))
            (local.set $jj (i32.const 0))
            (local.set $q (i32.shl (local.get $N2) (i32.const 2)))
            (block $j_done
              (loop $js
                (br_if $j_done (i32.ge_s (local.get $jj) (local.get $q)))
                (local.set $x0 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $b0) (local.get $jj)))))
                (local.set $x1 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $b1) (local.get $jj)))))
                (local.set $x2 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $b2) (local.get $jj)))))
                (local.set $x3 (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $b3) (local.get $jj)))))
                (local.set $w (i32.add (local.get $o0) (local.get $jj)))
                (v128.store64_lane 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.add
                  (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $w)))
                  (f64x2.add (f64x2.add (f64x2.add
                    (f64x2.mul (v128.load offset=0 (local.get $s)) (local.get $x0))
                    (f64x2.mul (v128.load offset=16 (local.get $s)) (local.get $x1)))
                    (f64x2.mul (v128.load offset=32 (local.get $s)) (local.get $x2)))
                    (f64x2.mul (v128.load offset=48 (local.get $s)) (local.get $x3))))))
                (local.set $w (i32.add (local.get $o1) (local.get $jj)))
                (v128.store64_lane 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.add
                  (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $w)))
                  (f64x2.add (f64x2.add (f64x2.add
                    (f64x2.mul (v128.load offset=64 (local.get $s)) (local.get $x0))
                    (f64x2.mul (v128.load offset=80 (local.get $s)) (local.get $x1)))
                    (f64x2.mul (v128.load offset=96 (local.get $s)) (local.get $x2)))
                    (f64x2.mul (v128.load offset=112 (local.get $s)) (local.get $x3))))))
                (local.set $w (i32.add (local.get $o2) (local.get $jj)))
                (v128.store64_lane 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.add
                  (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $w)))
                  (f64x2.add (f64x2.add (f64x2.add
                    (f64x2.mul (v128.load offset=128 (local.get $s)) (local.get $x0))
                    (f64x2.mul (v128.load offset=144 (local.get $s)) (local.get $x1)))
                    (f64x2.mul (v128.load offset=160 (local.get $s)) (local.get $x2)))
                    (f64x2.mul (v128.load offset=176 (local.get $s)) (local.get $x3))))))
                (local.set $w (i32.add (local.get $o3) (local.get $jj)))
                (v128.store64_lane 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.add
                  (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $w)))
                  (f64x2.add (f64x2.add (f64x2.add
                    (f64x2.mul (v128.load offset=192 (local.get $s)) (local.get $x0))
                    (f64x2.mul (v128.load offset=208 (local.get $s)) (local.get $x1)))
                    (f64x2.mul (v128.load offset=224 (local.get $s)) (local.get $x2)))
                    (f64x2.mul (v128.load offset=240 (local.get $s)) (local.get $x3))))))
                (local.set $jj (i32.add (local.get $jj) (i32.const 8)))
                (br $js)))
            ;; an odd last column: the same sums on lane 0 alone
            (if (i32.ne (local.get $N2) (local.get $N))
              (then
                (local.set $x0 (f64x2.promote_low_f32x4 (v128.load32_zero (i32.add (local.get $b0) (local.get $q)))))
                (local.set $x1 (f64x2.promote_low_f32x4 (v128.load32_zero (i32.add (local.get $b1) (local.get $q)))))
                (local.set $x2 (f64x2.promote_low_f32x4 (v128.load32_zero (i32.add (local.get $b2) (local.get $q)))))
                (local.set $x3 (f64x2.promote_low_f32x4 (v128.load32_zero (i32.add (local.get $b3) (local.get $q)))))
                (local.set $r (i32.const 0))
                (loop $tr
                  (local.set $w (i32.add (local.get $s) (i32.shl (local.get $r) (i32.const 6))))
                  (call $add1
                    (i32.add (i32.add (local.get $o0) (i32.mul (local.get $r) (local.get $rowN))) (local.get $q))
                    (f64x2.extract_lane 0 (f64x2.add (f64x2.add (f64x2.add
                      (f64x2.mul (v128.load offset=0 (local.get $w)) (local.get $x0))
                      (f64x2.mul (v128.load offset=16 (local.get $w)) (local.get $x1)))
                      (f64x2.mul (v128.load offset=32 (local.get $w)) (local.get $x2)))
                      (f64x2.mul (v128.load offset=48 (local.get $w)) (local.get $x3)))))
                  (local.set $r (i32.add (local.get $r) (i32.const 1)))
                  (br_if $tr (i32.lt_s (local.get $r) (i32.const 4))))))
            (local.set $k (i32.add (local.get $k) (i32.const 4)))
            (br $ks)))
        ;; the last K % 4 k: one k at a time, rounded after each
        (block $kt_done
          (loop $kts
            (br_if $kt_done (i32.ge_s (local.get $k) (local.get $K)))
            (local.set $r (i32.const 0))
            (loop $tr2
              (call $axpy
                (i32.add (local.get $o0) (i32.mul (local.get $r) (local.get $rowN)))
                (f32.load (i32.add (local.get $a) (i32.shl
                  (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $si)) (i32.mul (local.get $k) (local.get $sk)))
                  (i32.const 2))))
                (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $rowN)))
                (local.get $N))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $tr2 (i32.lt_s (local.get $r) (i32.const 4))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $kts)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    ;; the last M % 4 rows: one row and one k at a time
    (block $mt_done
      (loop $mts
        (br_if $mt_done (i32.ge_s (local.get $i) (local.get $M)))
        (local.set $k (i32.const 0))
        (block $mk_done
          (loop $mks
            (br_if $mk_done (i32.ge_s (local.get $k) (local.get $K)))
            (call $axpy
              (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $rowN)))
              (f32.load (i32.add (local.get $a) (i32.shl
                (i32.add (i32.mul (local.get $i) (local.get $si)) (i32.mul (local.get $k) (local.get $sk)))
                (i32.const 2))))
              (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $rowN)))
              (local.get $N))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $mks)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $mts))))

  ;; o[0..n) = f32(o + f64(x) * f64(y[0..n))), two at a time
  (func $axpy (param $o i32) (param $x f32) (param $y i32) (param $n i32)
    (local $ax v128) (local $jj i32) (local $q i32) (local $w i32)
    (local.set $ax (f64x2.splat (f64.promote_f32 (local.get $x))))
    (local.set $q (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2)))
    (block $done
      (loop $js
        (br_if $done (i32.ge_s (local.get $jj) (local.get $q)))
        (local.set $w (i32.add (local.get $o) (local.get $jj)))
        (v128.store64_lane 0 (local.get $w) (f32x4.demote_f64x2_zero (f64x2.add
          (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $w)))
          (f64x2.mul (local.get $ax) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $y) (local.get $jj))))))))
        (local.set $jj (i32.add (local.get $jj) (i32.const 8)))
        (br $js)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (call $add1 (i32.add (local.get $o) (local.get $q))
          (f64.mul (f64.promote_f32 (local.get $x)) (f64.promote_f32 (f32.load (i32.add (local.get $y) (local.get $q)))))))))
)
