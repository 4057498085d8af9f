// Docker references and `transport:reference` image names, parsed and normalised as containers/image does.

export {
  DEFAULT_DOMAIN,
  type DockerReference,
  dockerReferenceName,
  dockerReferenceString,
  familiarDockerReferenceString,
  isDomain,
  isNameOnly,
  isRepositoryName,
  isTag,
  parseCanonicalDockerReference,
  parseDockerReference,
  parseNormalizedDockerReference,
  validateDigest,
  withDefaultTag,
} from './docker-reference.ts';
export {
  dockerPolicyIdentity,
  dockerPolicyNamespaces,
  formatImageName,
  IMAGE_TRANSPORTS,
  type ImageReference,
  type ImageTransport,
  type ParseImageNameOptions,
  type PathResolver,
  parseImageName,
  pathPolicyNamespaces,
} from './image-name.ts';
