/**
 * The chart of `bench:e2e`: throughput against the number of Coffer processes,
 * one line per workload, as a hand-written SVG (no charting dependency). The
 * y axis is logarithmic: wallet reads run an order of magnitude above payouts,
 * and a linear axis would flatten the payout line to the floor.
 */
export interface Series {
  name: string;
  colour: string;
  /** Requests per second at each process count, in the order of `processCounts`. */
  values: number[];
}

const WIDTH = 760;
const HEIGHT = 460;
const LEFT = 80;
const RIGHT = 230;
const TOP = 50;
const BOTTOM = 60;

export function throughputChart(title: string, subtitle: string, processCounts: number[], series: Series[]): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lowDecade = Math.floor(Math.log10(Math.min(...all)));
  const highDecade = Math.ceil(Math.log10(Math.max(...all)));
  const x = (i: number) => LEFT + (processCounts.length === 1 ? plotW / 2 : (i * plotW) / (processCounts.length - 1));
  const y = (v: number) => TOP + plotH - ((Math.log10(v) - lowDecade) / (highDecade - lowDecade || 1)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${LEFT}" y="38" fill="#555">${escape(subtitle)}</text>`,
  ];
  // Horizontal grid: each decade labelled, 2x and 5x as faint lines.
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    for (const step of [1, 2, 5]) {
      const v = step * 10 ** decade;
      if (Math.log10(v) > highDecade) continue;
      const major = step === 1;
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="${major ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end" fill="${major ? '#333' : '#999'}">${v.toLocaleString('en-US')}</text>`);
    }
  }
  processCounts.forEach((n, i) => {
    out.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${TOP}" y2="${TOP + plotH}" stroke="#eee"/>`);
    out.push(`<text x="${x(i)}" y="${TOP + plotH + 18}" text-anchor="middle">${n}</text>`);
  });
  out.push(`<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${LEFT + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">Coffer server processes (one PostgreSQL database)</text>`);
  out.push(`<text transform="translate(20 ${TOP + plotH / 2}) rotate(-90)" text-anchor="middle">requests per second (log scale)</text>`);
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => [x(i), y(Math.max(v, 10 ** lowDecade))] as const);
    out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2.5" points="${points.map(([px, py]) => `${px},${py}`).join(' ')}"/>`);
    s.values.forEach((v, i) => {
      const [px, py] = points[i]!;
      out.push(`<circle cx="${px}" cy="${py}" r="4" fill="${s.colour}"/>`);
      // Every other series labels its points below them, so two lines close together stay readable.
      out.push(`<text x="${px + 7}" y="${k % 2 === 0 ? py - 7 : py + 15}" fill="${s.colour}" font-size="11">${Math.round(v).toLocaleString('en-US')}</text>`);
    });
    const ly = TOP + 14 + k * 22;
    out.push(`<line x1="${LEFT + plotW + 16}" x2="${LEFT + plotW + 40}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="2.5"/>`);
    out.push(`<text x="${LEFT + plotW + 46}" y="${ly}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
