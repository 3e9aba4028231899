import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Card from '@mui/material/Card';
import CardContent from '@mui/material/CardContent';
import CardMedia from '@mui/material/CardMedia';
import Chip from '@mui/material/Chip';
import FormControl from '@mui/material/FormControl';
import InputLabel from '@mui/material/InputLabel';
import MenuItem from '@mui/material/MenuItem';
import Select from '@mui/material/Select';
import Typography from '@mui/material/Typography';
import { useEffect, useId, useRef, useState } from 'react';
import { api } from '../api/client.ts';
import { displayName, useSpecies } from '../api/species.ts';
import type { Classification } from '../api/types.ts';
import { useSession } from '../auth.tsx';
import { ScoreBars } from '../components/ScoreBars.tsx';
import { ErrorState, Loading, PageTitle } from '../components/states.tsx';
import { ms, pct } from '../format.ts';

interface Item {
  key: string;
  file: File;
  preview: string;
  result?: Classification;
  error?: Error;
  corrected?: string;
}

/** Why an answer is `unknown`, in words (the API's `unknown_reason`). */
function unknownText(reason: string | undefined): string {
  switch (reason) {
    case 'not_a_fish':
      return 'Unknown: this does not look like a fish.';
    case 'unknown_species':
      return 'Unknown: a fish, but none of the species the model knows.';
    case 'low_confidence':
      return 'Unsure: the model cannot tell which of its species this is.';
    default:
      return 'Unknown: this image is unlike the fish the model knows.';
  }
}
export default function Classify() {
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);

  // Previews are released when the page goes away.
  const previews = useRef<string[]>([]);
  useEffect(
    () => () => {
      for (const url of previews.current) URL.revokeObjectURL(url);
    },
    [],
  );

  const update = (key: string, patch: Partial<Item>) =>
    setItems((all) => all.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const classify = (files: FileList | File[]) => {
    const fresh = [...files]
      .filter((f) => f.type.startsWith('image/') || f.type === '')
      .map((file) => ({
        key: `${file.name}-${file.size}-${Math.random().toString(36).slice(2)}`,
        file,
        preview: URL.createObjectURL(file),
      }));
    previews.current.push(...fresh.map((f) => f.preview));
    setItems((all) => [...fresh, ...all]);
    for (const item of fresh) {
      const form = new FormData();
      form.append('file', item.file, item.file.name);
      api<Classification>('/api/v1/predictions/classify', { method: 'POST', body: form })
        .then((result) => update(item.key, { result }))
        .catch((error: Error) => update(item.key, { error }));
    }
  };

  return (
    <>
      <PageTitle>Classify</PageTitle>
      <Box
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          if (e.dataTransfer.files.length) classify(e.dataTransfer.files);
        }}
        sx={{
          border: '2px dashed',
          borderColor: dragging ? 'primary.main' : 'divider',
          bgcolor: dragging ? 'action.hover' : 'background.paper',
          borderRadius: 2,
          p: { xs: 2, sm: 4 },
          textAlign: 'center',
          mb: 3,
        }}
      >
        <Typography sx={{ mb: 2 }}>
          Drop fish images here, or pick one or many (on a phone, take a photo).
        </Typography>
        <input
          ref={input}
          id={inputId}
          type="file"
          accept="image/*"
          capture="environment"
          multiple
          aria-label="Fish images"
          style={{ position: 'absolute', width: 1, height: 1, opacity: 0, overflow: 'hidden' }}
          onChange={(e) => {
            if (e.target.files?.length) classify(e.target.files);
            e.target.value = '';
          }}
        />
        <Button variant="contained" component="label" htmlFor={inputId}>
          Choose images
        </Button>
      </Box>
      {items.length === 0 ? (
        <Typography color="text.secondary">No images classified yet in this session.</Typography>
      ) : null}
      <Box
        sx={{
          display: 'grid',
          gap: 2,
          gridTemplateColumns: { xs: '1fr', md: 'repeat(2, 1fr)', xl: 'repeat(3, 1fr)' },
        }}
      >
        {items.map((item) => (
          <ResultCard
            key={item.key}
            item={item}
            onCorrected={(label) => update(item.key, { corrected: label })}
          />
        ))}
      </Box>
    </>
  );
}

function ResultCard({ item, onCorrected }: { item: Item; onCorrected: (label: string) => void }) {
  const species = useSpecies();
  const { can } = useSession();
  const name = (label: string) => displayName(species, label);
  const r = item.result;
  return (
    <Card component="article" aria-label={`Result for ${item.file.name}`}>
      <CardMedia
        component="img"
        image={item.preview}
        alt={`Uploaded image ${item.file.name}`}
        sx={{ height: 200, objectFit: 'contain', bgcolor: '#0d2730' }}
      />
      <CardContent>
        {!r && !item.error ? <Loading label="Classifying" /> : null}
        {item.error ? <ErrorState error={item.error} /> : null}
        {r ? (
          <>
            {r.status === 'unknown' ? (
              <Alert severity="warning" sx={{ mb: 1 }}>
                {unknownText(r.unknown_reason)} Closest: {name(r.label)}, {pct(r.confidence)}.
              </Alert>
            ) : (
              <>
                <Typography variant="h6" component="h2">
                  {name(r.label)}
                </Typography>
                <Typography sx={{ fontStyle: 'italic' }} color="text.secondary">
                  {r.scientific_name ?? r.label}
                </Typography>
                <Typography sx={{ mt: 1 }}>
                  Confidence <strong>{pct(r.confidence)}</strong>
                </Typography>
              </>
            )}
            <Box sx={{ my: 2 }}>
              <ScoreBars items={r.top_k} name={name} />
            </Box>
            {r.health ? (
              <Typography sx={{ mb: 1 }}>
                Health:{' '}
                <strong>
                  {r.health.status === 'unknown' ? 'unknown' : (r.health.condition ?? 'unknown')}
                </strong>{' '}
                ({pct(r.health.confidence)}, {r.health.model.name} v{r.health.model.version})
              </Typography>
            ) : null}
            <Box sx={{ display: 'flex', gap: 1, flexWrap: 'wrap', mb: 1 }}>
              <Chip size="small" label={`${r.model.name} v${r.model.version} (${r.model.route})`} />
              <Chip size="small" label={`${ms(r.inference_ms)}${r.cached ? ', cached' : ''}`} />
            </Box>
            {can('operator') ? (
              <Correction
                predictionId={r.prediction_id}
                options={species.map((s) => s.label)}
                name={name}
                corrected={item.corrected}
                onDone={onCorrected}
              />
            ) : null}
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

function Correction({
  predictionId,
  options,
  name,
  corrected,
  onDone,
}: {
  predictionId: string;
  options: string[];
  name: (label: string) => string;
  corrected?: string;
  onDone: (label: string) => void;
}) {
  const id = useId();
  const [error, setError] = useState<Error>();
  const send = async (label: string) => {
    setError(undefined);
    try {
      await api(`/api/v1/predictions/${predictionId}/feedback`, {
        method: 'POST',
        body: { label },
      });
      onDone(label);
    } catch (err) {
      setError(err as Error);
    }
  };
  if (corrected)
    return (
      <Alert severity="success">
        Correction saved: {corrected === 'unknown' ? 'not a known fish' : name(corrected)}
      </Alert>
    );
  return (
    <>
      <FormControl fullWidth size="small" sx={{ mt: 1 }}>
        <InputLabel id={id}>This is actually…</InputLabel>
        <Select
          labelId={id}
          label="This is actually…"
          value=""
          onChange={(e) => void send(String(e.target.value))}
        >
          {options.map((label) => (
            <MenuItem key={label} value={label}>
              {name(label)}
            </MenuItem>
          ))}
          <MenuItem value="unknown">Not a fish the model knows (unknown)</MenuItem>
        </Select>
      </FormControl>
      {error ? <ErrorState error={error} /> : null}
    </>
  );
}
