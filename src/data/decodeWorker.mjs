// Entry point of the decode worker thread. Worker threads do not inherit tsx's loader from the
// main thread, so this plain-JS file registers it before loading the TypeScript implementation.
import { register } from 'tsx/esm/api';

register();
await import('./decodeWorkerMain.ts');
