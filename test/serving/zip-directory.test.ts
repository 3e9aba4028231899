// A zip's central directory is attacker data: every length and offset in it may point anywhere.
// Each malformed field must come back as a 400 naming the zip, never as a RangeError (a 500).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { HttpError } from '../../src/http/errors.ts';
import { expandBatch } from '../../src/modules/ml-api/upload-bundles.ts';

const budget = {
  maxImages: 16,
  maxEntryBytes: 1 << 20,
  maxTotalBytes: 4 << 20,
  maxRatio: 100,
};

/** A stored zip of one small entry, and where its central directory entry starts. */
function sampleZip(): { zip: Buffer; central: number } {
  const zip = Buffer.from(zipSync({ 'a.png': new Uint8Array(64).fill(7) }, { level: 0 }));
  const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  assert.ok(central > 0);
  return { zip, central };
}

async function refusal(data: Buffer): Promise<HttpError> {
  try {
    await expandBatch(
      [{ field: 'files', filename: 'x.zip', mimetype: 'application/zip', data }],
      budget,
    );
  } catch (err) {
    assert.ok(err instanceof HttpError, `not a refusal: ${String(err)}`);
    return err;
  }
  assert.fail('the malformed zip was accepted');
}

describe('zip central directory bounds', () => {
  test('a well-formed zip expands', async () => {
    const { zip } = sampleZip();
    const images = await expandBatch(
      [{ field: 'files', filename: 'x.zip', mimetype: 'application/zip', data: zip }],
      budget,
    );
    assert.deepEqual(
      images.map((i) => [i.filename, i.data.length]),
      [['x.zip/a.png', 64]],
    );
  });

  test('an extra field longer than the file is a 400', async () => {
    const { zip, central } = sampleZip();
    zip.writeUInt16LE(0xfff0, central + 30);
    const err = await refusal(zip);
    assert.equal(err.status, 400);
    assert.match(err.message, /zip file could not be read/);
  });

  test('a zip64 extra field shorter than the sizes it must carry is a 400', async () => {
    const { zip, central } = sampleZip();
    // Sizes all ones ask for 64-bit values; the extra field that should hold them is 4 bytes.
    zip.writeUInt32LE(0xffffffff, central + 20);
    zip.writeUInt32LE(0xffffffff, central + 24);
    const nameLength = zip.readUInt16LE(central + 28);
    const extraAt = central + 46 + nameLength;
    const patched = Buffer.concat([
      zip.subarray(0, extraAt),
      Buffer.from([0x01, 0x00, 0x04, 0x00, 0, 0, 0, 0]),
      zip.subarray(extraAt),
    ]);
    patched.writeUInt16LE(8, central + 30);
    const eocd = patched.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    patched.writeUInt32LE(patched.readUInt32LE(eocd + 12) + 8, eocd + 12);
    const err = await refusal(patched);
    assert.equal(err.status, 400);
  });

  test('a name running past the end of the file is a 400', async () => {
    const { zip, central } = sampleZip();
    zip.writeUInt16LE(0xffff, central + 28);
    assert.equal((await refusal(zip)).status, 400);
  });
});
