// The build domain's door: templates for the builder, the staged build and its parts.
export { patchBiosBoot } from './bios-boot.ts';
export {
  type ArchiveIndex,
  type BuildOptions,
  type BuildOutput,
  type BuildStage,
  buildImage,
  type InstalledPackage,
  type StageEvent,
} from './builder.ts';
export { basePackages, cloudImageFiles, diskIdentity, LAYOUT, sfdiskScript } from './cloud-image.ts';
export { StageCache, stageKey } from './stage-cache.ts';
export { type BuildTemplate, readBuildTemplate, yamlTemplateToTdl } from './template.ts';
