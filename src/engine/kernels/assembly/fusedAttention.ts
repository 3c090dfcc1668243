// AssemblyScript (not TypeScript: excluded from tsconfig). Compiled to wasm with SIMD by
// `npm run build:wasm` (scripts/build-wasm.mjs, the `assemblyscript` dev dependency) into
// src/engine/kernels/fusedAttentionBinary.ts, which is checked in and tested to match this source.
//
// FDFtNet's self-attention core (paper eq. 1–2) without ever materialising the N×N map, in the
// manner of FlashAttention (Dao et al. 2022), for one CPU thread:
//
//   s_ji = g_j · f_i,   β_ji = softmax_i(s_ji) = exp(s_ji − m_j) / l_j,   o_j = Σ_i β_ji h_i
//
// Rows j are taken four at a time: their scores live in four row buffers of N floats (L1-sized),
// so the map never goes to memory. The 4-row × 8-lane register tiles are written out by hand (the
// repetitive blocks below), as a C kernel would be: AssemblyScript cannot loop over registers.
// Forward saves m_j and 1/l_j per row; backward recomputes β for four rows at a time and forms
// every gradient from them:
//
//   dβ_ji = dO_j · h_i,  D_j = dO_j · o_j,  dS_ji = β_ji (dβ_ji − D_j),
//   dH_i += Σ_j β_ji dO_j,  dF_i += Σ_j dS_ji g_j,  dG_j = Σ_i dS_ji f_i.
//
// The memory is the tfjs wasm backend's own heap (imported), so tensors are read and written in
// place. Every pointer is a byte address of float32 data. Shapes: f, g [B, N, D]; h, o, dO, dH
// [B, N, C]; stats [B, N, 2] = (m_j, 1/l_j). Needs N % 8 == 0 and C % 8 == 0 (the caller checks;
// other shapes use the plain-ops path). No data segments and no allocation: this module must not
// write anywhere but the buffers it is given (scratch included).

@inline function ld(p: usize): v128 {
  return v128.load(p);
}

@inline function st(p: usize, v: v128): void {
  v128.store(p, v);
}

/** One float broadcast to 4 lanes, loaded in one instruction (vbroadcastss). */
@inline function bc(p: usize): v128 {
  return v128.load32_splat(p);
}

/**
 * acc + a·b. Built twice (scripts/build-wasm.mjs): with relaxed SIMD this is one fused
 * multiply-add (vfmadd on x86 with FMA: half the instructions of the hot loops); baseline SIMD has
 * no FMA, so the other build multiplies then adds.
 */
@inline function madd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/**
 * e^x for x ≤ 0 (softmax arguments after the row maximum is subtracted), 4 lanes, as XNNPACK's
 * "rr2_p5" kernels: n = round(x·log2 e) by the magic-bias trick (whose low mantissa bits then hold
 * n + 127, i.e. the bits of 2^n once shifted into the exponent), r = x − n·ln2 in two parts, and a
 * degree-5 polynomial; relative error ~2e-7. Below −87.34 (e^x < FLT_MIN) the result is 0.
 */
@inline function exp4(x: v128): v128 {
  const magic = f32x4.splat(12583039.0);
  let n = madd(magic, x, f32x4.splat(1.4426950216293335));
  const s = i32x4.shl(n, 23);
  n = f32x4.sub(n, magic);
  let t = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693145751953125)));
  t = f32x4.sub(t, f32x4.mul(n, f32x4.splat(1.428606765330187e-6)));
  let p = madd(f32x4.splat(0.04189782217144966), f32x4.splat(0.008289290592074394), t);
  p = madd(f32x4.splat(0.16667652130126953), p, t);
  p = madd(f32x4.splat(0.4999915063381195), p, t);
  p = madd(f32x4.splat(0.9999997019767761), p, t);
  t = f32x4.mul(t, s);
  const e = madd(s, t, p);
  return v128.andnot(e, f32x4.lt(x, f32x4.splat(-87.33654022216797)));
}

/** dst[k·rows + i] = src[i·cols + k]: [rows, cols] → [cols, rows]. */
function transposeInto(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    const s = src + ((<usize>i * cols) << 2);
    for (let k = 0; k < cols; k++) store<f32>(dst + ((<usize>k * rows + i) << 2), load<f32>(s + (<usize>k << 2)));
  }
}

/**
 * Channel panels: dst[(c/8)·N·8 + i·8 + c%8] = src[i·C + c], i.e. [N, C] → [C/8, N, 8]. A loop over
 * i for one 8-channel panel then reads memory sequentially (rows of C floats at a 4 KiB-aliasing
 * stride would thrash L1's sets).
 */
function packChannelPanels(src: usize, dst: usize, n: i32, c: i32): void {
  const panelBytes = (<usize>n * 8) << 2;
  for (let i = 0; i < n; i++) {
    const s = src + ((<usize>i * c) << 2);
    const d = dst + (<usize>i << 5);
    for (let cc = 0; cc < c; cc += 8) {
      const pd = d + <usize>(cc >> 3) * panelBytes;
      st(pd, ld(s + (<usize>cc << 2)));
      st(pd + 16, ld(s + (<usize>cc << 2) + 16));
    }
  }
}

/** The inverse of packChannelPanels: [C/8, N, 8] → [N, C]. */
function unpackChannelPanels(src: usize, dst: usize, n: i32, c: i32): void {
  const panelBytes = (<usize>n * 8) << 2;
  for (let i = 0; i < n; i++) {
    const d = dst + ((<usize>i * c) << 2);
    const s = src + (<usize>i << 5);
    for (let cc = 0; cc < c; cc += 8) {
      const ps = s + <usize>(cc >> 3) * panelBytes;
      st(d + (<usize>cc << 2), ld(ps));
      st(d + (<usize>cc << 2) + 16, ld(ps + 16));
    }
  }
}

/** Position panels of the transpose: dst[(i/8)·C·8 + c·8 + i%8] = src[i·C + c], i.e. [N, C] → [N/8, C, 8]. */
function packTransposedPanels(src: usize, dst: usize, n: i32, c: i32): void {
  for (let i = 0; i < n; i++) {
    const s = src + ((<usize>i * c) << 2);
    const d = dst + ((<usize>(i >> 3) * c * 8 + (i & 7)) << 2);
    for (let k = 0; k < c; k++) store<f32>(d + (<usize>k << 5), load<f32>(s + (<usize>k << 2)));
  }
}

/**
 * The kernels' one GEMM micro-tile, 4 rows × 8 lanes in registers: for r = 0..3,
 * tile[r] = Σ_k a_r[k] · panel[k], where a_r[k] is the float at a_r + 4k and panel[k] the 8 floats at
 * panel + 32k (k < count). The 4 × 8 sums go to `tile` (32 floats, in scratch).
 */
@inline function tile4x8(a0: usize, a1: usize, a2: usize, a3: usize, panel: usize, count: i32, tile: usize): void {
  let r00 = f32x4.splat(0);
  let r01 = r00;
  let r10 = r00;
  let r11 = r00;
  let r20 = r00;
  let r21 = r00;
  let r30 = r00;
  let r31 = r00;
  let pp = panel;
  for (let k = 0; k < count; k++) {
    const v0 = ld(pp);
    const v1 = ld(pp + 16);
    const ko = <usize>k << 2;
    let x = bc(a0 + ko);
    r00 = madd(r00, x, v0);
    r01 = madd(r01, x, v1);
    x = bc(a1 + ko);
    r10 = madd(r10, x, v0);
    r11 = madd(r11, x, v1);
    x = bc(a2 + ko);
    r20 = madd(r20, x, v0);
    r21 = madd(r21, x, v1);
    x = bc(a3 + ko);
    r30 = madd(r30, x, v0);
    r31 = madd(r31, x, v1);
    pp += 32;
  }
  st(tile, r00);
  st(tile + 16, r01);
  st(tile + 32, r10);
  st(tile + 48, r11);
  st(tile + 64, r20);
  st(tile + 80, r21);
  st(tile + 96, r30);
  st(tile + 112, r31);
}

function zero(p: usize, count: i32): void {
  memory.fill(p, 0, <usize>count << 2);
}

/**
 * Scores of rows j0..j0+3 against every i into the row buffers p0..p3 (s_ji = Σ_k g_jk ft[k][i]),
 * then β for those rows. Forward (`saveStats`): m_j = max_i s_ji, β = exp(s − m) unnormalised,
 * stats ← (m_j, 1/l_j), and the returned buffers hold exp(s − m). Backward: stats are read and the
 * buffers hold β itself (normalised).
 */
function rowBlockBeta(ft: usize, g: usize, stats: usize, j0: i32, n: i32, d: i32, pbuf: usize, saveStats: bool): void {
  const rowBytes = <usize>n << 2;
  const p0 = pbuf;
  const p1 = p0 + rowBytes;
  const p2 = p1 + rowBytes;
  const p3 = p2 + rowBytes;
  const g0 = g + ((<usize>j0 * d) << 2);
  const g1 = g0 + ((<usize>d) << 2);
  const g2 = g1 + ((<usize>d) << 2);
  const g3 = g2 + ((<usize>d) << 2);
  let mx0 = f32x4.splat(-Infinity);
  let mx1 = mx0;
  let mx2 = mx0;
  let mx3 = mx0;
  for (let i = 0; i < n; i += 4) {
    const io = <usize>i << 2;
    let a0 = f32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    for (let k = 0; k < d; k++) {
      const fv = ld(ft + ((<usize>k * n) << 2) + io);
      const ko = <usize>k << 2;
      a0 = madd(a0, bc(g0 + ko), fv);
      a1 = madd(a1, bc(g1 + ko), fv);
      a2 = madd(a2, bc(g2 + ko), fv);
      a3 = madd(a3, bc(g3 + ko), fv);
    }
    st(p0 + io, a0);
    st(p1 + io, a1);
    st(p2 + io, a2);
    st(p3 + io, a3);
    mx0 = f32x4.max(mx0, a0);
    mx1 = f32x4.max(mx1, a1);
    mx2 = f32x4.max(mx2, a2);
    mx3 = f32x4.max(mx3, a3);
  }
  const s0 = stats + ((<usize>j0 * 2) << 2);
  for (let r = 0; r < 4; r++) {
    const p = pbuf + <usize>r * rowBytes;
    const sr = s0 + ((<usize>r * 2) << 2);
    if (saveStats) {
      const m = hmax(r == 0 ? mx0 : r == 1 ? mx1 : r == 2 ? mx2 : mx3);
      const mv = f32x4.splat(m);
      let sum = f32x4.splat(0);
      for (let i = 0; i < n; i += 4) {
        const e = exp4(f32x4.sub(ld(p + (<usize>i << 2)), mv));
        st(p + (<usize>i << 2), e);
        sum = f32x4.add(sum, e);
      }
      store<f32>(sr, m);
      store<f32>(sr + 4, <f32>1.0 / hsum(sum));
    } else {
      const mv = f32x4.splat(load<f32>(sr));
      const inv = f32x4.splat(load<f32>(sr + 4));
      for (let i = 0; i < n; i += 4) {
        st(p + (<usize>i << 2), f32x4.mul(exp4(f32x4.sub(ld(p + (<usize>i << 2)), mv)), inv));
      }
    }
  }
}

/** Scratch floats `attentionForward` needs: D·N (Fᵀ) + 4·N (row buffers) + N·C (H in panels) + 32 (a tile). */
export function forwardScratch(n: i32, d: i32, c: i32): i32 {
  return d * n + 4 * n + n * c + 32;
}

/** O = softmax(G Fᵀ) H for `batch` images; stats ← (m_j, 1/l_j). */
export function attentionForward(f: usize, g: usize, h: usize, o: usize, stats: usize, scratch: usize, batch: i32, n: i32, d: i32, c: i32): void {
  const ft = scratch;
  const pbuf = ft + ((<usize>d * n) << 2);
  const rowBytes = <usize>n << 2;
  const hpan = pbuf + 4 * rowBytes;
  const panelBytes = (<usize>n * 8) << 2;
  const tile = hpan + ((<usize>n * c) << 2);
  for (let b = 0; b < batch; b++) {
    const fb = f + ((<usize>b * n * d) << 2);
    const gb = g + ((<usize>b * n * d) << 2);
    const hb = h + ((<usize>b * n * c) << 2);
    const ob = o + ((<usize>b * n * c) << 2);
    const sb = stats + ((<usize>b * n * 2) << 2);
    transposeInto(fb, ft, n, d);
    packChannelPanels(hb, hpan, n, c);
    for (let j0 = 0; j0 < n; j0 += 4) {
      rowBlockBeta(ft, gb, sb, j0, n, d, pbuf, true);
      const p0 = pbuf;
      const p1 = p0 + rowBytes;
      const p2 = p1 + rowBytes;
      const p3 = p2 + rowBytes;
      const sj = sb + ((<usize>j0 * 2) << 2);
      const inv0 = f32x4.splat(load<f32>(sj + 4));
      const inv1 = f32x4.splat(load<f32>(sj + 12));
      const inv2 = f32x4.splat(load<f32>(sj + 20));
      const inv3 = f32x4.splat(load<f32>(sj + 28));
      // o_j = (1/l_j) Σ_i exp(s_ji − m_j) h_i, 8 channels × 4 rows at a time.
      const ostride = <usize>c << 2;
      for (let cc = 0; cc < c; cc += 8) {
        tile4x8(p0, p1, p2, p3, hpan + <usize>(cc >> 3) * panelBytes, n, tile);
        const or0 = ob + ((<usize>j0 * c + cc) << 2);
        st(or0, f32x4.mul(ld(tile), inv0));
        st(or0 + 16, f32x4.mul(ld(tile + 16), inv0));
        st(or0 + ostride, f32x4.mul(ld(tile + 32), inv1));
        st(or0 + ostride + 16, f32x4.mul(ld(tile + 48), inv1));
        st(or0 + 2 * ostride, f32x4.mul(ld(tile + 64), inv2));
        st(or0 + 2 * ostride + 16, f32x4.mul(ld(tile + 80), inv2));
        st(or0 + 3 * ostride, f32x4.mul(ld(tile + 96), inv3));
        st(or0 + 3 * ostride + 16, f32x4.mul(ld(tile + 112), inv3));
      }
    }
  }
}

/** Scratch floats `attentionBackward` needs: 2·D·N (Fᵀ, dFᵀ) + 2·C·N (Hᵀ and dH in panels) + 8·N (β and dS rows) + 32 (a tile). */
export function backwardScratch(n: i32, d: i32, c: i32): i32 {
  return 2 * d * n + 2 * c * n + 8 * n + 32;
}

/** dF, dG, dH of O = softmax(G Fᵀ) H given dO, the forward's O and stats. Overwrites dF, dG, dH. */
export function attentionBackward(
  f: usize, g: usize, h: usize, o: usize, stats: usize, dO: usize,
  dF: usize, dG: usize, dH: usize, scratch: usize,
  batch: i32, n: i32, d: i32, c: i32,
): void {
  const rowBytes = <usize>n << 2;
  const ft = scratch;
  const dft = ft + ((<usize>d * n) << 2);
  const ht = dft + ((<usize>d * n) << 2);
  const pbuf = ht + ((<usize>c * n) << 2);
  const dsbuf = pbuf + 4 * rowBytes;
  const dhpan = dsbuf + 4 * rowBytes;
  const tile = dhpan + ((<usize>n * c) << 2);
  const panelBytes = (<usize>n * 8) << 2;
  const cBytes = <usize>c << 2;
  for (let b = 0; b < batch; b++) {
    const fb = f + ((<usize>b * n * d) << 2);
    const gb = g + ((<usize>b * n * d) << 2);
    const hb = h + ((<usize>b * n * c) << 2);
    const ob = o + ((<usize>b * n * c) << 2);
    const dob = dO + ((<usize>b * n * c) << 2);
    const sb = stats + ((<usize>b * n * 2) << 2);
    const dfb = dF + ((<usize>b * n * d) << 2);
    const dgb = dG + ((<usize>b * n * d) << 2);
    const dhb = dH + ((<usize>b * n * c) << 2);
    transposeInto(fb, ft, n, d);
    packTransposedPanels(hb, ht, n, c);
    zero(dft, d * n);
    zero(dhpan, n * c);
    for (let j0 = 0; j0 < n; j0 += 4) {
      rowBlockBeta(ft, gb, sb, j0, n, d, pbuf, false);
      const p0 = pbuf;
      const p1 = p0 + rowBytes;
      const p2 = p1 + rowBytes;
      const p3 = p2 + rowBytes;
      const ds0 = dsbuf;
      const ds1 = ds0 + rowBytes;
      const ds2 = ds1 + rowBytes;
      const ds3 = ds2 + rowBytes;
      const do0 = dob + <usize>j0 * cBytes;
      const do1 = do0 + cBytes;
      const do2 = do1 + cBytes;
      const do3 = do2 + cBytes;
      // D_j = dO_j · o_j
      const o0 = ob + <usize>j0 * cBytes;
      let e0 = f32x4.splat(0);
      let e1 = e0;
      let e2 = e0;
      let e3 = e0;
      for (let cc = 0; cc < c; cc += 4) {
        const co = <usize>cc << 2;
        e0 = madd(e0, ld(do0 + co), ld(o0 + co));
        e1 = madd(e1, ld(do1 + co), ld(o0 + cBytes + co));
        e2 = madd(e2, ld(do2 + co), ld(o0 + 2 * cBytes + co));
        e3 = madd(e3, ld(do3 + co), ld(o0 + 3 * cBytes + co));
      }
      const D0 = f32x4.splat(hsum(e0));
      const D1 = f32x4.splat(hsum(e1));
      const D2 = f32x4.splat(hsum(e2));
      const D3 = f32x4.splat(hsum(e3));
      // dβ_ji = Σ_c dO_jc hᵀ_ci for 8 i × 4 rows at a time, then dS = β (dβ − D).
      for (let i = 0; i < n; i += 8) {
        const io = <usize>i << 2;
        tile4x8(do0, do1, do2, do3, ht + ((<usize>i * c) << 2), c, tile); // panel i/8 of Hᵀ: [C, 8]
        st(ds0 + io, f32x4.mul(ld(p0 + io), f32x4.sub(ld(tile), D0)));
        st(ds0 + io + 16, f32x4.mul(ld(p0 + io + 16), f32x4.sub(ld(tile + 16), D0)));
        st(ds1 + io, f32x4.mul(ld(p1 + io), f32x4.sub(ld(tile + 32), D1)));
        st(ds1 + io + 16, f32x4.mul(ld(p1 + io + 16), f32x4.sub(ld(tile + 48), D1)));
        st(ds2 + io, f32x4.mul(ld(p2 + io), f32x4.sub(ld(tile + 64), D2)));
        st(ds2 + io + 16, f32x4.mul(ld(p2 + io + 16), f32x4.sub(ld(tile + 80), D2)));
        st(ds3 + io, f32x4.mul(ld(p3 + io), f32x4.sub(ld(tile + 96), D3)));
        st(ds3 + io + 16, f32x4.mul(ld(p3 + io + 16), f32x4.sub(ld(tile + 112), D3)));
      }
      // dH_i += Σ_r β_ri dO_r, 8 channels at a time (the four rows' dO in registers).
      for (let cc = 0; cc < c; cc += 8) {
        const co = <usize>cc << 2;
        const q00 = ld(do0 + co);
        const q01 = ld(do0 + co + 16);
        const q10 = ld(do1 + co);
        const q11 = ld(do1 + co + 16);
        const q20 = ld(do2 + co);
        const q21 = ld(do2 + co + 16);
        const q30 = ld(do3 + co);
        const q31 = ld(do3 + co + 16);
        let dp = dhpan + <usize>(cc >> 3) * panelBytes;
        for (let i = 0; i < n; i++) {
          const io = <usize>i << 2;
          let v0 = ld(dp);
          let v1 = ld(dp + 16);
          let s = bc(p0 + io);
          v0 = madd(v0, s, q00);
          v1 = madd(v1, s, q01);
          s = bc(p1 + io);
          v0 = madd(v0, s, q10);
          v1 = madd(v1, s, q11);
          s = bc(p2 + io);
          v0 = madd(v0, s, q20);
          v1 = madd(v1, s, q21);
          s = bc(p3 + io);
          v0 = madd(v0, s, q30);
          v1 = madd(v1, s, q31);
          st(dp, v0);
          st(dp + 16, v1);
          dp += 32;
        }
      }
      // dFᵀ_ki += Σ_r dS_ri g_rk  and  dG_rk = Σ_i dS_ri fᵀ_ki.
      const g0 = gb + ((<usize>j0 * d) << 2);
      const dBytes = <usize>d << 2;
      for (let k = 0; k < d; k++) {
        const ko = <usize>k << 2;
        const w0 = bc(g0 + ko);
        const w1 = bc(g0 + dBytes + ko);
        const w2 = bc(g0 + 2 * dBytes + ko);
        const w3 = bc(g0 + 3 * dBytes + ko);
        const frow = ft + ((<usize>k * n) << 2);
        const dfrow = dft + ((<usize>k * n) << 2);
        let z0 = f32x4.splat(0);
        let z1 = z0;
        let z2 = z0;
        let z3 = z0;
        for (let i = 0; i < n; i += 4) {
          const io = <usize>i << 2;
          const s0 = ld(ds0 + io);
          const s1 = ld(ds1 + io);
          const s2 = ld(ds2 + io);
          const s3 = ld(ds3 + io);
          let v = ld(dfrow + io);
          v = madd(v, s0, w0);
          v = madd(v, s1, w1);
          v = madd(v, s2, w2);
          v = madd(v, s3, w3);
          st(dfrow + io, v);
          const fv = ld(frow + io);
          z0 = madd(z0, s0, fv);
          z1 = madd(z1, s1, fv);
          z2 = madd(z2, s2, fv);
          z3 = madd(z3, s3, fv);
        }
        const dg0 = dgb + ((<usize>j0 * d) << 2) + ko;
        store<f32>(dg0, hsum(z0));
        store<f32>(dg0 + dBytes, hsum(z1));
        store<f32>(dg0 + 2 * dBytes, hsum(z2));
        store<f32>(dg0 + 3 * dBytes, hsum(z3));
      }
    }
    transposeInto(dft, dfb, d, n);
    unpackChannelPanels(dhpan, dhb, n, c);
  }
}
