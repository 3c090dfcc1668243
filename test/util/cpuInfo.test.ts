import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuInfo, describeCpu, vectorExtension } from '../../src/util/cpuInfo.ts';

test('vectorExtension names the widest extension in /proc/cpuinfo flags', () => {
  const x86 = (flags: string) => `processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse sse2 ${flags}\nbogomips\t: 4500\n`;
  assert.equal(vectorExtension(x86('sse4_1 avx avx2 fma avx512f avx512bw amx_tile')), 'AVX-512');
  assert.equal(vectorExtension(x86('sse4_1 avx avx2 fma sha_ni')), 'AVX2'); // e.g. AMD Zen 3
  assert.equal(vectorExtension(x86('sse4_1 avx')), 'AVX');
  assert.equal(vectorExtension(x86('sse4_1')), 'SSE4.1');
  assert.equal(vectorExtension('processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n'), 'NEON');
  assert.equal(vectorExtension('processor\t: 0\n'), 'unknown');
  assert.equal(vectorExtension(x86('')), 'unknown');
});

test('cpuInfo describes this machine', () => {
  const c = cpuInfo();
  assert.ok(c.model.length > 0);
  assert.ok(Number.isInteger(c.cores) && c.cores >= 1);
  assert.match(c.vector, /^(AVX-512|AVX2|AVX|SSE4\.1|NEON|unknown)$/);
  assert.equal(describeCpu(c), `${c.model} × ${c.cores}, ${c.vector}`);
});
