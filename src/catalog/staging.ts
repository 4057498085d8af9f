// Where staged data (`PUT /v2/images/{id}/stage`) waits for its import: a blob of its own beside the
// key the image's data is committed under, so neither can be mistaken for the other.

/** The blob key of an image's staged data. */
export function stagingKey(imageId: string): string {
  return `${imageId}.staging`;
}
