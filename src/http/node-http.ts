// `node:http` without undici. Node 24's http module carries WebSocket, CloseEvent and MessageEvent as
// lazy getters backed by its bundled undici. `import … from 'node:http'` builds an ES module namespace,
// which reads every export and so loads undici with http2, zlib and the web streams: 60-90 ms added to
// the start of every command that talks HTTP (the boot gate's, at every instance boot). This is the same
// module object, taken without a namespace, so those getters run only if something reads them.
import type * as NodeHttp from 'node:http';

export const http: typeof NodeHttp = process.getBuiltinModule('node:http');
