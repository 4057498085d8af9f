// The HTTP server: app assembly, the APIs, and the runtime that wires configuration to services.
export { type AppOptions, createApp, type ImageTrustApp } from './app.ts';
export { serviceCatalog } from './identity-routes.ts';
export { isLoopback, type RunningServer, startServer } from './runtime.ts';
