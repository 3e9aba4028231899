import Box from '@mui/material/Box';
import LinearProgress from '@mui/material/LinearProgress';
import Typography from '@mui/material/Typography';
import type { Scored } from '../api/types.ts';
import { pct } from '../format.ts';

/** Top-k candidates as labelled bars. */
export function ScoreBars({ items, name }: { items: Scored[]; name: (label: string) => string }) {
  return (
    <Box component="ol" sx={{ listStyle: 'none', p: 0, m: 0 }} aria-label="Top candidates">
      {items.map((item) => (
        <Box component="li" key={item.label} sx={{ mb: 1 }}>
          <Box sx={{ display: 'flex', justifyContent: 'space-between', gap: 1 }}>
            <Typography variant="body2" noWrap title={item.label}>
              {name(item.label)}
            </Typography>
            <Typography variant="body2" color="text.secondary">
              {pct(item.confidence)}
            </Typography>
          </Box>
          <LinearProgress
            variant="determinate"
            value={Math.round(item.confidence * 100)}
            aria-label={`${name(item.label)} ${pct(item.confidence)}`}
            sx={{ height: 8, borderRadius: 4 }}
          />
        </Box>
      ))}
    </Box>
  );
}
