// Files an upload door must survive: good images, truncated and polyglot ones, pixel bombs, and
// archives with bombs, links, traversal names and truncation. Built once per process.
import { crc32, gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import { noisePng, solidJpeg } from '../../support/images.ts';

export interface FuzzFile {
  name: string;
  data: Buffer;
  contentType: string;
}

const MiB = 1024 * 1024;

/** A PNG whose header claims `width` x `height` pixels over a tiny body (a pixel bomb). */
export function pixelBombPng(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  // IHDR starts at byte 8: length (4), type (4), width (4), height (4), ..., CRC after 13 bytes.
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)) >>> 0, 29);
  return out;
}

/** One ustar entry: a 512-byte header, then the data padded to 512 bytes. */
export function tarEntry(
  name: string,
  data: Buffer,
  type: '0' | '1' | '2' | '5' = '0',
  link = '',
  declaredSize = data.length,
): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${declaredSize.toString(8).padStart(11, '0')}\0`, 124);
  h.write(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  h.write('        ', 148);
  h.write(type, 156);
  h.write(link.slice(0, 100), 157, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export function tarOf(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}

export async function fuzzFiles(): Promise<{
  images: FuzzFile[];
  broken: FuzzFile[];
  archives: FuzzFile[];
  all: FuzzFile[];
}> {
  const png = await noisePng(96, 64, 4242);
  const jpeg = await solidJpeg(30, 90, 160, 120, 80);
  const webp = await sharp(png).webp().toBuffer();
  const gif = await sharp(png).gif().toBuffer();
  const images: FuzzFile[] = [
    { name: 'fish.png', data: png, contentType: 'image/png' },
    { name: 'fish.jpg', data: jpeg, contentType: 'image/jpeg' },
    { name: 'fish.webp', data: webp, contentType: 'image/webp' },
    { name: 'fish.gif', data: gif, contentType: 'image/gif' },
  ];
  const tiny = await sharp({
    create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } },
  })
    .png()
    .toBuffer();
  const zipOfPng = Buffer.from(zipSync({ 'a.png': png }));
  const broken: FuzzFile[] = [
    { name: 'empty.png', data: Buffer.alloc(0), contentType: 'image/png' },
    { name: 'half.png', data: png.subarray(0, png.length >> 1), contentType: 'image/png' },
    { name: 'head.png', data: png.subarray(0, 33), contentType: 'image/png' },
    { name: 'half.jpg', data: jpeg.subarray(0, jpeg.length >> 1), contentType: 'image/jpeg' },
    { name: 'soi.jpg', data: Buffer.from([0xff, 0xd8, 0xff]), contentType: 'image/jpeg' },
    { name: 'bomb.png', data: pixelBombPng(tiny, 100_000, 100_000), contentType: 'image/png' },
    { name: 'wide.png', data: pixelBombPng(tiny, 0x7fffffff, 1), contentType: 'image/png' },
    { name: 'zero.png', data: pixelBombPng(tiny, 0, 0), contentType: 'image/png' },
    // Polyglots: an image that is also an archive, or a script.
    { name: 'poly.png', data: Buffer.concat([png, zipOfPng]), contentType: 'image/png' },
    { name: 'poly.zip', data: Buffer.concat([zipOfPng, png]), contentType: 'application/zip' },
    {
      name: 'poly.gif',
      data: Buffer.concat([Buffer.from('GIF89a/*'), gif.subarray(8), Buffer.from('*/=1;alert(1)')]),
      contentType: 'image/gif',
    },
    {
      name: 'svg.png',
      data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      contentType: 'image/svg+xml',
    },
    { name: 'text.png', data: Buffer.from('not an image at all'), contentType: 'image/png' },
  ];
  const zeros = Buffer.alloc(20 * MiB);
  const symlinkAttrs = (0o120777 << 16) >>> 0;
  const zipBomb = Buffer.from(
    zipSync(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`z${i}.png`, zeros])), {
      level: 9,
    }),
  );
  const archives: FuzzFile[] = [
    { name: 'ok.zip', data: zipOfPng, contentType: 'application/zip' },
    { name: 'bomb.zip', data: zipBomb, contentType: 'application/zip' },
    {
      name: 'link.zip',
      data: Buffer.from(
        zipSync({
          'etc-passwd.png': [Buffer.from('/etc/passwd'), { os: 3, attrs: symlinkAttrs }],
          'a.png': png,
        }),
      ),
      contentType: 'application/zip',
    },
    {
      name: 'traversal.zip',
      data: Buffer.from(zipSync({ '../../../tmp/evil.png': png, '/abs.png': png })),
      contentType: 'application/zip',
    },
    {
      name: 'truncated.zip',
      data: zipOfPng.subarray(0, zipOfPng.length - 30),
      contentType: 'application/zip',
    },
    {
      name: 'nested.zip',
      data: Buffer.from(zipSync({ 'inner.zip': zipOfPng })),
      contentType: 'application/zip',
    },
    {
      name: 'ok.tar',
      data: tarOf(tarEntry('a.png', png)),
      contentType: 'application/x-tar',
    },
    {
      name: 'links.tar',
      data: tarOf(
        tarEntry('sym.png', Buffer.alloc(0), '2', '/etc/passwd'),
        tarEntry('hard.png', Buffer.alloc(0), '1', '/etc/shadow'),
        tarEntry('../../evil.png', png),
        tarEntry('dir/', Buffer.alloc(0), '5'),
      ),
      contentType: 'application/x-tar',
    },
    {
      name: 'truncated.tar',
      data: tarOf(tarEntry('a.png', png)).subarray(0, 700),
      contentType: 'application/x-tar',
    },
    {
      name: 'liar.tar',
      // The header claims 8 GiB of data that is not there.
      data: tarOf(tarEntry('big.png', png, '0', '', 8 * 1024 * MiB)),
      contentType: 'application/x-tar',
    },
    {
      name: 'bomb.tar.gz',
      data: gzipSync(tarOf(tarEntry('z.png', zeros)), { level: 9 }),
      contentType: 'application/gzip',
    },
    {
      name: 'truncated.tar.gz',
      data: gzipSync(tarOf(tarEntry('a.png', png))).subarray(0, 200),
      contentType: 'application/gzip',
    },
  ];
  return { images, broken, archives, all: [...images, ...broken, ...archives] };
}
