import Box from '@mui/material/Box';
import { useEffect, useRef, useState } from 'react';

export interface Series {
  name: string;
  colour: string;
  points: { t: number; v: number }[];
}

/**
 * A small dependency-free SVG time chart: one or more series, an optional shaded band (the optimal
 * range of a water-quality metric), and a text summary for screen readers.
 */
export function LineChart({
  series,
  band,
  height = 180,
  unit = '',
  label,
}: {
  series: Series[];
  band?: { min?: number | null; max?: number | null };
  height?: number;
  unit?: string;
  label: string;
}) {
  // Drawn at the container's real width, so text keeps its size on a phone and a desktop.
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(600);
  const empty = series.every((s) => s.points.length === 0);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) =>
      setW(Math.max(200, Math.round(entry.contentRect.width))),
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [empty]);
  const H = height;
  const pad = { l: 44, r: 8, t: 8, b: 22 };
  const all = series.flatMap((s) => s.points);
  if (empty) {
    return (
      <Box
        ref={box}
        sx={{ height: 48, display: 'grid', placeItems: 'center', color: 'text.secondary' }}
      >
        No data in this window yet.
      </Box>
    );
  }
  const ts = all.map((p) => p.t);
  const vs = all.map((p) => p.v);
  if (band?.min != null) vs.push(band.min);
  if (band?.max != null) vs.push(band.max);
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (hi - lo < 1e-9) {
    hi += 1;
    lo -= 1;
  }
  const span = hi - lo;
  lo -= span * 0.08;
  hi += span * 0.08;
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts) === t0 ? t0 + 1 : Math.max(...ts);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const ticks = [lo + (hi - lo) * 0.1, (lo + hi) / 2, hi - (hi - lo) * 0.1];
  const fmt = (v: number) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
  const time = (t: number) =>
    new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const last = series.map(
    (s) => `${s.name} ${s.points.length ? fmt(s.points[s.points.length - 1].v) : '—'}${unit}`,
  );
  const bandTop = band?.max != null ? y(band.max) : pad.t;
  const bandBottom = band?.min != null ? y(band.min) : H - pad.b;

  return (
    <Box component="figure" ref={box} sx={{ m: 0 }}>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-label={`${label}: latest ${last.join(', ')}`}
        data-points={all.length}
      >
        {band && (band.min != null || band.max != null) ? (
          <rect
            x={pad.l}
            y={bandTop}
            width={W - pad.l - pad.r}
            height={Math.max(0, bandBottom - bandTop)}
            fill="#2e7d32"
            opacity={0.12}
          />
        ) : null}
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} stroke="#000" opacity={0.08} />
            <text x={pad.l - 4} y={y(v) + 4} fontSize={11} textAnchor="end" fill="#555">
              {fmt(v)}
            </text>
          </g>
        ))}
        <text x={pad.l} y={H - 6} fontSize={11} fill="#555">
          {time(t0)}
        </text>
        <text x={W - pad.r} y={H - 6} fontSize={11} fill="#555" textAnchor="end">
          {time(t1)}
        </text>
        {series.map((s) =>
          s.points.length === 1 ? (
            <circle
              key={s.name}
              cx={x(s.points[0].t)}
              cy={y(s.points[0].v)}
              r={3}
              fill={s.colour}
            />
          ) : (
            <polyline
              key={s.name}
              fill="none"
              stroke={s.colour}
              strokeWidth={2}
              points={s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}
            />
          ),
        )}
      </svg>
      <Box
        component="figcaption"
        sx={{ display: 'flex', gap: 2, flexWrap: 'wrap', fontSize: 12, color: 'text.secondary' }}
      >
        {series.map((s, i) => (
          <span key={s.name}>
            <Box
              component="span"
              sx={{
                display: 'inline-block',
                width: 10,
                height: 10,
                bgcolor: s.colour,
                mr: 0.5,
                borderRadius: '2px',
              }}
            />
            {last[i]}
          </span>
        ))}
        {band && (band.min != null || band.max != null) ? (
          <span>
            optimal {band.min ?? '…'}–{band.max ?? '…'}
            {unit}
          </span>
        ) : null}
      </Box>
    </Box>
  );
}
