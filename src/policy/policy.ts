import type { Platform } from '../oci/platform.js';
import { DEFAULT_PROFILE, type Profile, profileNamed } from './profiles.js';

/** A configured value and where it came from (`--max-layers`, `imgscope.config.json`, `.dive-ci`, …). */
export interface Setting<T> {
  value: T;
  origin: string;
}

/** dive's rule values: a threshold, or dive's `disabled` (the rule is reported as skipped). */
export type RuleSetting = Setting<number | 'disabled'>;

export type FailOn = 'fail' | 'warn';

/** Everything `check` judges an image by: the profile's facts plus the user's budgets and rules. */
export interface Policy {
  profile: Profile;
  /** `warn`: warnings fail the verdict too (`--fail-on warn`). */
  failOn: FailOn;
  /** Platform to select from an index; the CLI opens the image with it. */
  platform?: Setting<Platform>;
  /** Function memory in MiB, judged against the profile's memory tiers. */
  memoryMiB?: Setting<number>;
  budgets: {
    /** Bytes; config + layer blobs as stored must be at most this. */
    maxCompressed?: Setting<number>;
    /** Bytes; Σ uncompressed layer tars must be at most this. */
    maxUncompressed?: Setting<number>;
    maxLayers?: Setting<number>;
  };
  /** dive's CI rules, with dive's semantics. */
  rules: {
    /** Ratio 0–1: fails when efficiency is below it. */
    lowestEfficiency?: RuleSetting;
    /** Bytes: fails when dive's wasted bytes exceed it. */
    highestWastedBytes?: RuleSetting;
    /** Ratio 0–1: fails when wasted / user bytes exceeds it. */
    highestUserWastedPercent?: RuleSetting;
  };
  /** Configuration files that contributed, in the order they were applied. */
  files: string[];
}

/** A policy from a profile alone: what `check` does with no flags and no config files. */
export function profilePolicy(profileName: string = DEFAULT_PROFILE): Policy {
  return { profile: profileNamed(profileName), failOn: 'fail', budgets: {}, rules: {}, files: [] };
}
