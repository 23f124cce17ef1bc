// Worker-thread entry of a wasm helper thread: registers the TypeScript loader, then runs the helper.
import { register } from 'tsx/esm/api';

register();
await import('./helper-entry.ts');
