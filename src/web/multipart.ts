/**
 * `multipart/form-data` for the UI's one file upload (a batch CSV), without a
 * dependency: the scope collects the body (bounded by the route's bodyLimit)
 * and this splits it into text fields and files. Enough for what browsers
 * send from a plain <form enctype="multipart/form-data">; anything malformed
 * is a 400, never a half-read form.
 */
import { DomainError } from '../platform/errors.ts';

export interface UploadedFile {
  filename: string;
  content: Buffer;
}

export function isUploadedFile(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).content);
}

function malformed(why: string): DomainError {
  return new DomainError('MALFORMED_BODY', `The form upload could not be read: ${why}`);
}

function boundaryOf(contentType: string): string {
  const match = /boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw malformed('no boundary');
  return boundary;
}

/** Text fields as strings, files as UploadedFile; a repeated name keeps the first. */
export function parseMultipart(body: Buffer, contentType: string): Record<string, string | UploadedFile> {
  const delimiter = Buffer.from(`--${boundaryOf(contentType)}`);
  const result: Record<string, string | UploadedFile> = {};
  let start = body.indexOf(delimiter);
  if (start < 0) throw malformed('no parts');
  for (;;) {
    const afterDelimiter = start + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return result; // the closing delimiter
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next < 0) throw malformed('the last part is not closed');
    // A part is CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    const part = body.subarray(afterDelimiter + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) throw malformed('a part has no headers');
    const headers = part.subarray(0, headerEnd).toString('utf8');
    const content = part.subarray(headerEnd + 4);
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw malformed('a part has no name');
    if (!Object.hasOwn(result, name)) {
      result[name] = filename === undefined ? content.toString('utf8') : { filename, content: Buffer.from(content) };
    }
    start = next;
  }
}
