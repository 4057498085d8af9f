// What the container decision service needs from storage: each project's policy.json, its public keys
// and its registries.d document. Adapters live in storage/.

/** Which verifier a stored key feeds: OpenPGP keys for signedBy, PEM public keys for sigstoreSigned. */
export type ContainerKeyType = 'openpgp' | 'pem';

/** A public key a project stored; policies name it by `name` in keyPath/keyPaths. */
export interface ContainerKeyRecord {
  projectId: string;
  name: string;
  keyType: ContainerKeyType;
  /** Primary key fingerprints (OpenPGP, upper-case hex) or `SHA256:<base64>` of the SPKI (PEM). */
  fingerprints: string[];
  material: Buffer;
  createdAt: string;
  updatedAt: string;
}

/** A stored text document of one project (policy.json or registries.d YAML), kept byte for byte. */
export interface ProjectDocument {
  projectId: string;
  document: string;
  updatedAt: string;
}

export type ProjectDocumentKind = 'policy' | 'registries';

export interface ContainerTrustRepository {
  /** Creates or replaces the project's document of that kind. */
  putDocument(kind: ProjectDocumentKind, document: ProjectDocument): Promise<void>;
  findDocument(kind: ProjectDocumentKind, projectId: string): Promise<ProjectDocument | null>;
  deleteDocument(kind: ProjectDocumentKind, projectId: string): Promise<boolean>;
  /** Creates or replaces a key; true when it was new. */
  putKey(key: ContainerKeyRecord): Promise<boolean>;
  findKey(projectId: string, name: string): Promise<ContainerKeyRecord | null>;
  /** The project's keys in name order. */
  listKeys(projectId: string): Promise<ContainerKeyRecord[]>;
  deleteKey(projectId: string, name: string): Promise<boolean>;
}
