// The contract shared by main, the browser host and the renderer (docs/ARCHITECTURE.md).
export * from './result.ts';
export * from './schemas.ts';
export * from './contract.ts';
export * from './training.ts';
export * from './review.ts';
export * from './labels.ts';
export * from './run-config.ts';
export * from './rpc.ts';
export * from './memory.ts';
export * from './client.ts';
