/**
 * Building blocks for self-contained report pages: one HTML file with inline CSS and every image
 * embedded (data: URIs), so a report can be mailed, attached to an issue or opened offline.
 * Also the Markdown table used by `summary.md` files.
 *
 * Everything that comes from data (names, paths, numbers, headings) is escaped here; only the
 * `html` of a section is inserted as is, and it is expected to be built with these helpers.
 */

export type Cell = string | number | boolean | null | undefined;

/** Bad input to a report builder: ragged tables, bold masks of the wrong shape. */
export class ReportError extends Error {
  override name = 'ReportError';
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML element content and (quoted) attribute values. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * How a table cell prints: integers as they are, other numbers with `digits` decimals (4 by default,
 * enough to tell AUROCs apart), non-finite numbers as 'n/a', empty values as ''.
 */
export function formatCell(value: Cell, digits = 4): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'n/a';
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  return String(value);
}

function checkTable(headers: string[], rows: Cell[][]): void {
  if (!Array.isArray(headers) || headers.length === 0) throw new ReportError('a table needs at least one header');
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== headers.length) {
      throw new ReportError(`table row ${i} has ${Array.isArray(r) ? r.length : 'no'} cells, expected ${headers.length}`);
    }
  });
}

/** Escape a cell for a GitHub-flavoured Markdown table: pipes, backslashes, and line breaks. */
function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A GitHub-flavoured Markdown table; numeric columns are right-aligned. */
export function markdownTable(headers: string[], rows: Cell[][], opts: { digits?: number } = {}): string {
  checkTable(headers, rows);
  const numeric = headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || r[j] == null));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [
    line(headers.map((h) => escapeMarkdownCell(String(h)))),
    line(numeric.map((n) => (n ? '---:' : '---'))),
    ...rows.map((r) => line(r.map((c) => escapeMarkdownCell(formatCell(c, opts.digits))))),
  ].join('\n');
}

/**
 * An HTML table. `bold[i][j]` (optional, same shape as `rows`, may be ragged/short) marks cells to
 * emphasise, e.g. the best value in each column of a comparison.
 */
export function htmlTable(headers: string[], rows: Cell[][], opts: { bold?: boolean[][]; digits?: number; caption?: string } = {}): string {
  checkTable(headers, rows);
  const bold = opts.bold;
  if (bold !== undefined && (!Array.isArray(bold) || bold.length > rows.length)) {
    throw new ReportError(`bold mask has ${Array.isArray(bold) ? bold.length : 'no'} rows, table has ${rows.length}`);
  }
  const numeric = headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || r[j] == null));
  const head = `<thead><tr>${headers.map((h) => `<th>${escapeHtml(String(h))}</th>`).join('')}</tr></thead>`;
  const body = rows
    .map((r, i) => {
      const cells = r.map((c, j) => {
        const text = escapeHtml(formatCell(c, opts.digits));
        const content = bold?.[i]?.[j] ? `<strong>${text}</strong>` : text;
        return numeric[j] ? `<td class="num">${content}</td>` : `<td>${content}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : '';
  return `<table>${caption}${head}<tbody>\n${body}\n</tbody></table>`;
}

/** A PNG (Buffer) or SVG (string) as a data: URI, for `<img src>` in a self-contained page. */
export function imageDataUri(image: Uint8Array | string): string {
  if (typeof image === 'string') return `data:image/svg+xml;base64,${Buffer.from(image, 'utf8').toString('base64')}`;
  return `data:image/png;base64,${Buffer.from(image).toString('base64')}`;
}

/**
 * An embedded image. SVG charts go in as data: URIs rather than inline `<svg>` elements: several
 * vega SVGs inline in one page would share element ids (clip paths) and draw each other's clips.
 */
export function imageHtml(image: Uint8Array | string, alt: string, opts: { width?: number } = {}): string {
  const width = opts.width ? ` width="${Math.round(opts.width)}"` : '';
  return `<figure><img src="${imageDataUri(image)}" alt="${escapeHtml(alt)}"${width}><figcaption>${escapeHtml(alt)}</figcaption></figure>`;
}

/** A paragraph of escaped text. */
export function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

const CSS = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #eee; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
th, td { border: 1px solid #d0d0d0; padding: .3em .7em; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #666; }
nav ul { columns: 2; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, monospace; font-size: .9em; }
pre { background: #f6f6f6; padding: .7em; overflow-x: auto; }
footer { margin-top: 3em; color: #888; font-size: .85em; }
`;

function slug(text: string, used: Set<string>): string {
  const base = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
  let id = base;
  for (let k = 2; used.has(id); k++) id = `${base}-${k}`;
  used.add(id);
  return id;
}

/**
 * A complete, self-contained HTML document. Headings are escaped; each section's `html` is
 * inserted as is. A table of contents is added when there are more than three sections.
 */
export function htmlPage(page: { title: string; sections: { heading: string; html: string }[]; footer?: string }): string {
  if (!page || typeof page.title !== 'string') throw new ReportError('htmlPage needs a title');
  const sections = page.sections ?? [];
  const used = new Set<string>();
  const ids = sections.map((s) => slug(s.heading, used));
  const toc =
    sections.length > 3
      ? `<nav><ul>${sections.map((s, i) => `<li><a href="#${ids[i]}">${escapeHtml(s.heading)}</a></li>`).join('')}</ul></nav>\n`
      : '';
  const body = sections.map((s, i) => `<section id="${ids[i]}">\n<h2>${escapeHtml(s.heading)}</h2>\n${s.html}\n</section>`).join('\n');
  const footer = page.footer ? `\n<footer>${escapeHtml(page.footer)}</footer>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${toc}${body}${footer}
</body>
</html>
`;
}
