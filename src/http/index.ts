// HTTP pieces shared by both sides of the wire: the bulk-data GET reader that the boot gate's client and
// the S3 blob store read image bytes through (reused buffers, strict framing, an idle timeout), and
// `node:http` itself, taken so that importing it does not load undici (see node-http.ts).
export { type DataDownloadOptions, type DataResponse, getData } from './data-download.ts';
export { http } from './node-http.ts';
