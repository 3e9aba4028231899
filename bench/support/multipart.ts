/** One multipart/form-data body per image (field `file`), as a camera or the dashboard sends it. */
export function imageUploads(images: { name: string; data: Buffer }[]): {
  bodies: Buffer[];
  contentType: string;
} {
  const boundary = '----aquamlbench';
  const bodies = images.map((img) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${img.name}"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      img.data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
  );
  return { bodies, contentType: `multipart/form-data; boundary=${boundary}` };
}
