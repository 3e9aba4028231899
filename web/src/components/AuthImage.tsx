import Box from '@mui/material/Box';
import { useEffect, useState } from 'react';
import { request } from '../api/client.ts';

/** An image from an authenticated API path (fetched with the token, shown from a blob URL). */
export function AuthImage({ path, alt }: { path: string; alt: string }) {
  const [url, setUrl] = useState<string | null>();
  useEffect(() => {
    let objectUrl: string | undefined;
    const controller = new AbortController();
    request(path, { signal: controller.signal })
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
  }, [path]);
  if (url === null) return <Box sx={{ color: 'text.secondary' }}>{alt}: not available</Box>;
  if (!url) return null;
  return <Box component="img" src={url} alt={alt} sx={{ maxWidth: '100%', height: 'auto' }} />;
}
