import PDFDocument from 'pdfkit';
import { renderToString } from 'preact-render-to-string';
import type { HoldingView } from './products.views.ts';

/**
 * The contract of one subscription order (seed 001: 合同), as a server-rendered
 * page and as a PDF. Both show the same terms, taken from the order (the
 * product's terms as they were when it was bought).
 */

export interface ContractParty {
  userId: string;
  acceptorBank: string | null;
}

const TITLE = 'Savings product subscription contract';

function terms(h: HoldingView, party: ContractParty): [string, string][] {
  return [
    ['Contract (order) number', h.id],
    ['Subscriber', party.userId],
    ['Product', `${h.productName} (${h.productCode})`],
    ['Acceptor bank', party.acceptorBank ?? '-'],
    ['Principal', `${h.amount} ${h.currency}`],
    ['Annual rate', `${h.annualRate} %`],
    ['Term', `${h.termDays} days`],
    ['Day count', h.dayCount],
    ['Interest starts (T+1)', h.valueDate],
    ['Maturity date', h.maturityDate],
    ['Expected interest', `${h.interest} ${h.currency}`],
    ['Principal + interest at maturity', `${h.maturityAmount} ${h.currency}`],
    ['Paid with', h.payWith === 'WALLET' ? 'Coffer wallet' : `Card (payment ${h.payOrderNo ?? '-'})`],
    ['Order status', h.status],
    ['Ordered at', h.createdAt],
  ];
}

const CLAUSES = [
  'Interest accrues from the value date (the day after payment, T+1) until the maturity date, on the principal above.',
  'Interest = principal x annual rate x term days / days in the year of the day count, computed in minor units and rounded half-up once.',
  "On the maturity date the principal and the interest are credited to the subscriber's Coffer wallet, from which they may be withdrawn.",
  'The order cannot be redeemed before maturity.',
];

export function contractHtml(h: HoldingView, party: ContractParty): string {
  const page = (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`${TITLE} ${h.id}`}</title>
        <style>{'body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}th{text-align:left;padding-right:1.5rem}td,th{padding:.25rem 0;vertical-align:top}'}</style>
      </head>
      <body>
        <h1>{TITLE}</h1>
        <table>
          <tbody>
            {terms(h, party).map(([label, value]) => (
              <tr>
                <th scope="row">{label}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <h2>Terms</h2>
        <ol>
          {CLAUSES.map((clause) => (
            <li>{clause}</li>
          ))}
        </ol>
        <p>
          <a href={`/my/subscriptions/${encodeURIComponent(h.id)}/contract.pdf`}>Download as PDF</a>
        </p>
      </body>
    </html>
  );
  return `<!doctype html>\n${renderToString(page)}`;
}

/** The standard PDF fonts cover Latin-1 only: other characters (e.g. a Chinese product name) print as "?". */
function latin1(text: string): string {
  return text.replace(/[^\u0020-\u00ff]/g, '?');
}

export function contractPdf(h: HoldingView, party: ContractParty): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 56, info: { Title: `${TITLE} ${h.id}`, Author: 'Coffer' } });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('Helvetica-Bold').fontSize(16).text(TITLE).moveDown();
  for (const [label, value] of terms(h, party)) {
    doc.font('Helvetica-Bold').fontSize(10).text(`${label}: `, { continued: true }).font('Helvetica').text(latin1(value));
  }
  doc.moveDown().font('Helvetica-Bold').fontSize(12).text('Terms').font('Helvetica').fontSize(10);
  CLAUSES.forEach((clause, i) => doc.text(`${i + 1}. ${latin1(clause)}`));
  doc.end();
  return done;
}
