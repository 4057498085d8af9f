// Deployment posture: OpenStack (and imagetrust) configuration checked against the Security Guide, with
// oslo.config's reading rules and a check catalogue kept as data.
export type { CheckDefinition, Severity } from './catalogue.ts';
export { loadCatalogue } from './catalogue.ts';
export type { Flavor, ImageRecord, PostureFinding, PostureMaterial } from './evaluate.ts';
export { evaluatePosture } from './evaluate.ts';
export { parseFlavorExport, parseImageExport } from './exports.ts';
export { parseLibvirtConf } from './libvirt-conf.ts';
export { loadPolicyDefaults, loadPostureMaterial, readShippedCatalogue } from './load.ts';
export { OsloConfig, parseOsloBool, parseOsloIni, parseOsloList, parseOsloNumber } from './oslo-ini.ts';
export { PasteConfig, parsePasteIni } from './paste-ini.ts';
export { decidePolicy, effectivePolicy } from './service-policy.ts';
