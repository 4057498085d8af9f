// HTTP pieces shared by both sides of the wire: the bulk-data GET reader that the boot gate's client and
// the S3 blob store read image bytes through (reused buffers, strict framing, an idle timeout).
export { type DataDownloadOptions, type DataResponse, getData } from './data-download.ts';
export { http } from './node-http.ts';
