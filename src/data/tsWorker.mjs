// Entry point of fdft's worker threads. Worker threads do not inherit tsx's loader from the main
// thread, so this plain-JS file registers it, then loads the TypeScript module named in
// workerData.module (a file: URL).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
