import Box from '@mui/material/Box';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import Typography from '@mui/material/Typography';
import type { ReactNode } from 'react';

/**
 * Renders the subset of Markdown that model cards use (headings, paragraphs, lists, tables, quotes,
 * **bold**, *italic*, `code`) as React elements: no HTML string is ever injected.
 */
export function Markdown({ text }: { text: string }) {
  const lines = text.split('\n');
  const out: ReactNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const key = out.length;
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + 2) as 3 | 4 | 5 | 6;
      out.push(
        <Typography
          key={key}
          variant={level <= 3 ? 'h6' : 'subtitle1'}
          component={`h${level}`}
          sx={{ mt: 2, mb: 1 }}
        >
          {inline(heading[2])}
        </Typography>,
      );
      i += 1;
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i].startsWith('|')) {
        if (!/^\|[\s|:-]+\|$/.test(lines[i]))
          rows.push(
            lines[i]
              .slice(1, -1)
              .split('|')
              .map((c) => c.trim()),
          );
        i += 1;
      }
      const [head, ...body] = rows;
      out.push(
        <Box key={key} sx={{ overflowX: 'auto', my: 1 }}>
          <Table size="small">
            <TableHead>
              <TableRow>
                {head.map((c, j) => (
                  <TableCell key={j}>{inline(c)}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {body.map((r, k) => (
                <TableRow key={k}>
                  {r.map((c, j) => (
                    <TableCell key={j}>{inline(c)}</TableCell>
                  ))}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Box>,
      );
    } else if (/^\s*[-*]\s+/.test(line)) {
      const items: string[] = [];
      while (i < lines.length && (/^\s*[-*]\s+/.test(lines[i]) || /^\s{2,}\S/.test(lines[i]))) {
        if (/^\s*[-*]\s+/.test(lines[i])) items.push(lines[i].replace(/^\s*[-*]\s+/, ''));
        else items[items.length - 1] += ` ${lines[i].trim()}`;
        i += 1;
      }
      out.push(
        <Box key={key} component="ul" sx={{ my: 1, pl: 3 }}>
          {items.map((t, j) => (
            <li key={j}>{inline(t)}</li>
          ))}
        </Box>,
      );
    } else if (line.startsWith('>')) {
      const quote: string[] = [];
      while (i < lines.length && lines[i].startsWith('>'))
        quote.push(lines[i++].replace(/^>\s?/, ''));
      out.push(
        <Box
          key={key}
          component="blockquote"
          sx={{ borderLeft: 3, borderColor: 'divider', pl: 2, ml: 0, color: 'text.secondary' }}
        >
          {inline(quote.join(' '))}
        </Box>,
      );
    } else if (line.trim() === '' || /^!\[/.test(line)) {
      i += 1;
    } else {
      const para: string[] = [];
      while (i < lines.length && lines[i].trim() !== '' && !/^(#|\||>|\s*[-*]\s)/.test(lines[i]))
        para.push(lines[i++]);
      out.push(
        <Typography key={key} sx={{ my: 1 }}>
          {inline(para.join(' '))}
        </Typography>,
      );
    }
  }
  return (
    <Box sx={{ '& td, & th': { fontSize: 13 }, '& code': { overflowWrap: 'anywhere' } }}>{out}</Box>
  );
}

function inline(text: string): ReactNode[] {
  const parts = text.split(/(\*\*[^*]+\*\*|`[^`]+`|\*[^*]+\*|\[[^\]]+\]\([^)]+\))/g);
  return parts.map((p, i) => {
    if (/^\*\*[^*]+\*\*$/.test(p)) return <strong key={i}>{p.slice(2, -2)}</strong>;
    if (/^`[^`]+`$/.test(p)) return <code key={i}>{p.slice(1, -1)}</code>;
    if (/^\*[^*]+\*$/.test(p)) return <em key={i}>{p.slice(1, -1)}</em>;
    const link = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(p);
    if (link) return <span key={i}>{link[1]}</span>;
    return p;
  });
}
