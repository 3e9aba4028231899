/** A one-line progress bar on stderr (plain lines when stderr is not a terminal). */
export class ProgressBar {
  private lastDraw = 0;
  private lastLine = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(label: string, done?: number, total?: number): void {
    const now = performance.now();
    const finished = done !== undefined && total !== undefined && done >= total;
    if (
      !finished &&
      now - this.lastDraw < (this.stream.isTTY ? 100 : 5_000) &&
      label === this.lastLine
    )
      return;
    this.lastDraw = now;
    let line = label;
    if (done !== undefined && total) {
      const width = 28;
      const filled = Math.round((done / total) * width);
      line = `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
    }
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
    else if (line !== this.lastLine || finished) this.stream.write(`${line}\n`);
    this.lastLine = label;
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
