// Worker-thread entry: registers the TypeScript loader, then runs the training job.
import { register } from 'tsx/esm/api';

register();
await import('./train-entry.ts');
