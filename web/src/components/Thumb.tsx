import Box from '@mui/material/Box';
import { useEffect, useState } from 'react';
import { request } from '../api/client.ts';

/** A kept image's thumbnail, fetched with the session's token (an <img src> could not send it). */
export function Thumb({ predictionId, alt }: { predictionId: string; alt: string }) {
  const [url, setUrl] = useState<string | null>();
  useEffect(() => {
    let objectUrl: string | undefined;
    const controller = new AbortController();
    request(`/api/v1/predictions/${predictionId}/thumbnail`, { signal: controller.signal })
      .then((res) => res.blob())
      .then((blob) => {
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      })
      .catch(() => !controller.signal.aborted && setUrl(null));
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [predictionId]);
  const size = { width: 48, height: 48, borderRadius: 1, flexShrink: 0 };
  if (url) return <Box component="img" src={url} alt={alt} sx={{ ...size, objectFit: 'cover' }} />;
  return (
    <Box
      sx={{ ...size, bgcolor: 'action.hover', display: 'grid', placeItems: 'center' }}
      title={url === null ? 'image not kept' : 'loading'}
    >
      <Box component="span" sx={{ fontSize: 10, color: 'text.secondary' }}>
        {url === null ? 'no image' : '…'}
      </Box>
    </Box>
  );
}
