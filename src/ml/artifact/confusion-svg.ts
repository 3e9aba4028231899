// Confusion matrix as a self-contained SVG (no fonts or scripts to load), rows = true class.
const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function confusionSvg(
  cm: number[][],
  rowLabels: string[],
  colLabels: string[],
  title: string,
): string {
  const cell = 34;
  const left = 12 + Math.max(...rowLabels.map((l) => l.length)) * 7;
  const top = 40 + Math.max(...colLabels.map((l) => l.length)) * 6;
  const w = left + cell * colLabels.length + 20;
  const h = top + cell * rowLabels.length + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  colLabels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(`<text transform="translate(${x},${top - 6}) rotate(-60)">${esc(l)}</text>`);
  });
  cm.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    const y = top + i * cell;
    parts.push(
      `<text x="${left - 6}" y="${y + cell / 2 + 4}" text-anchor="end">${esc(rowLabels[i])}</text>`,
    );
    row.forEach((v, j) => {
      const frac = v / total;
      const shade = Math.round(255 - frac * 200);
      const fill =
        i === j
          ? `rgb(${shade},${Math.round(255 - frac * 120)},${shade})`
          : `rgb(255,${shade},${shade})`;
      const x = left + j * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`,
      );
      if (v)
        parts.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle">${v}</text>`,
        );
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
