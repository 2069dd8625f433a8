import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * API secrets at rest.
 *
 * Why encrypted and not hashed: a merchant proves it knows its secret by an
 * HMAC over each request, and checking an HMAC needs the secret itself — a
 * hash of it would be of no use. (A password can be hashed because the client
 * sends it; an HMAC key never travels.) So the secret is stored encrypted with
 * AES-256-GCM under a key that is not in the database: a leaked table or
 * backup alone reveals no secret. The key comes from MERCHANT_SECRETS_KEY
 * (base64 of 32 bytes, e.g. from a secret manager) or a file in the data
 * folder's keys directory, made with mode 0600 on first start.
 *
 * Stored form: `v1.<key fingerprint>.<iv>.<tag>.<ciphertext>` (base64url). The
 * key id is bound in as additional authenticated data, so a ciphertext copied
 * onto another key's row does not decrypt. The fingerprint names which
 * encryption key was used (a later rotation can re-encrypt row by row).
 */
const KEY_BYTES = 32;
const IV_BYTES = 12;

export class SecretBox {
  private readonly fingerprint: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`the merchant secrets key must be ${KEY_BYTES} bytes, got ${key.length}`);
    this.fingerprint = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  }

  /** From MERCHANT_SECRETS_KEY when given, else the key file (made on first use). */
  static fromConfig(config: { secretsKey: string | undefined; secretsKeyPath: string }): SecretBox {
    if (config.secretsKey !== undefined) return new SecretBox(Buffer.from(config.secretsKey, 'base64'));
    return new SecretBox(loadOrCreateKeyFile(config.secretsKeyPath));
  }

  seal(plaintext: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
    return ['v1', this.fingerprint, ...parts].join('.');
  }

  /** The plaintext, or undefined when the stored form was made under another key, bound elsewhere or altered. */
  open(sealed: string, boundTo: string): string | undefined {
    const [version, fingerprint, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || fingerprint !== this.fingerprint || !iv || !tag || ciphertext === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

function loadOrCreateKeyFile(file: string): Buffer {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600 });
    try {
      // link, not rename: if another process made the file meanwhile, its key wins and ours is dropped.
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
}
