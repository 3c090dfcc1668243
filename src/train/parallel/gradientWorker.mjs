// Entry point of a data-parallel gradient worker. Worker threads do not inherit tsx's loader from
// the main thread, so this plain-JS file registers it before loading the TypeScript implementation.
import { register } from 'tsx/esm/api';

register();
await import('./gradientWorkerMain.ts');
