import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, formatCell, htmlPage, htmlTable, imageDataUri, imageHtml, markdownTable, ReportError } from '../../src/report/html.ts';

test('escapeHtml escapes the five special characters', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
});

test('formatCell: integers plain, decimals fixed, non-finite n/a, empty for null', () => {
  assert.equal(formatCell(42), '42');
  assert.equal(formatCell(0.91234567), '0.9123');
  assert.equal(formatCell(0.5, 2), '0.50');
  assert.equal(formatCell(NaN), 'n/a');
  assert.equal(formatCell(null), '');
  assert.equal(formatCell('x'), 'x');
});

test('markdownTable: header, alignment row, escaped pipes and newlines', () => {
  const md = markdownTable(['model', 'AUROC'], [['a|b', 0.9], ['line\nbreak', 1]]);
  assert.equal(md, ['| model | AUROC |', '| --- | ---: |', '| a\\|b | 0.9000 |', '| line break | 1 |'].join('\n'));
  assert.throws(() => markdownTable(['a', 'b'], [['only one']]), ReportError);
  assert.throws(() => markdownTable([], []), ReportError);
});

test('htmlTable: escapes cells, bolds the masked ones, right-aligns numbers', () => {
  const html = htmlTable(['model', 'AUROC'], [['<x>', 0.8], ['y', 0.95]], { bold: [[false, false], [false, true]], caption: 'A & B' });
  assert.match(html, /<td>&lt;x&gt;<\/td>/);
  assert.match(html, /<td class="num"><strong>0\.9500<\/strong><\/td>/);
  assert.match(html, /<td class="num">0\.8000<\/td>/);
  assert.match(html, /<caption>A &amp; B<\/caption>/);
  assert.equal((html.match(/<strong>/g) ?? []).length, 1);
  assert.throws(() => htmlTable(['a'], [['x']], { bold: [[true], [true]] }), ReportError);
});

test('imageDataUri / imageHtml embed PNG bytes and SVG text', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  assert.equal(imageDataUri(png), 'data:image/png;base64,iVBORw==');
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"/>';
  const uri = imageDataUri(svg);
  assert.ok(uri.startsWith('data:image/svg+xml;base64,'));
  assert.equal(Buffer.from(uri.split(',')[1], 'base64').toString('utf8'), svg);
  assert.match(imageHtml(png, 'ROC "curve"', { width: 400 }), /alt="ROC &quot;curve&quot;" width="400"/);
});

test('htmlPage: a complete self-contained document with escaped title, anchors and a TOC', () => {
  const sections = ['Summary', 'Summary', 'ROC <curves>', 'Tables'].map((heading, i) => ({ heading, html: `<p>s${i}</p>` }));
  const page = htmlPage({ title: 'Report <1> & co', sections, footer: 'fdft 0.1' });
  assert.ok(page.startsWith('<!DOCTYPE html>'));
  assert.match(page, /<title>Report &lt;1&gt; &amp; co<\/title>/);
  assert.match(page, /<style>/);
  assert.match(page, /<nav>/);
  assert.match(page, /id="summary"[\s\S]*id="summary-2"/);
  assert.match(page, /<h2>ROC &lt;curves&gt;<\/h2>/);
  assert.match(page, /<p>s3<\/p>/);
  assert.doesNotMatch(page, /https?:\/\//, 'nothing fetched from the network');
  assert.doesNotMatch(htmlPage({ title: 't', sections: [{ heading: 'one', html: '' }] }), /<nav>/);
});
