// May this image boot: the catalog's decision for the boot gate, a door of its own so the gate (a
// client that runs per boot) loads this and the catalog's lifecycle rules, not the whole catalog service.

export { type BootDecision, type BootDecisionInput, type BootImageView, decideBoot } from './decision.ts';
