// Worker threads do not inherit the main thread's tsx loader: register it, then load the thread.
import { register } from 'tsx/esm/api';

register();
await import('./ml-thread.ts');
