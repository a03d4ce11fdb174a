/**
 * Rollout control: with `--canary-wait S`, a proxy publishes a new directory revision only after
 * the canary proxy (localconfig `zmproxy_canary_server`) has served the same directory config
 * hash for S seconds, as its marker endpoint says. The canary itself publishes at once. Pure
 * decision + an injected probe; the apply run calls {@link createCanaryGate}'s check between the
 * render and the publication.
 */
import type { FleetIdentity } from './fleet-identity.js';

/** What the canary's marker endpoint said. */
export type CanaryObservation =
  | { reachable: false; error: string }
  | {
      reachable: true;
      /** The directory config hash of the generation the canary serves. */
      configHash: string;
      /** Epoch ms the canary published that generation. */
      publishedAt: number;
      /** The canary's last run ended well (its status file); false: it is failing. */
      healthy: boolean;
      generation: string;
    };

/** The verdict: publish now, or hold (and when to look again). */
export type CanaryDecision =
  { publish: true; reason: string } | { publish: false; reason: string; retryAt: number };

/** Decides whether this proxy may publish `rendered`. Pure. */
export function decideCanary(input: {
  self: string;
  canary: string;
  rendered: FleetIdentity;
  observation: CanaryObservation | undefined;
  waitMs: number;
  now: number;
  /** How soon to look again while holding. */
  pollMs: number;
}): CanaryDecision {
  const { self, canary, rendered, observation, waitMs, now, pollMs } = input;
  if (sameServer(self, canary)) return { publish: true, reason: 'this proxy is the canary' };
  const hold = (reason: string, at = now + pollMs): CanaryDecision => ({
    publish: false,
    reason: `waiting for canary ${canary}: ${reason}`,
    retryAt: at,
  });
  if (observation === undefined || !observation.reachable) {
    return hold(`its marker endpoint does not answer (${observation?.error ?? 'not asked'})`);
  }
  if (observation.configHash !== rendered.directoryHash) {
    return hold(
      `it serves config hash ${observation.configHash.slice(0, 12)} (generation ${observation.generation}), not ${rendered.directoryHash.slice(0, 12)}`,
    );
  }
  if (!observation.healthy) return hold('its last run failed');
  const servedFor = now - observation.publishedAt;
  if (servedFor < waitMs) {
    return hold(
      `it serves this revision since ${Math.round(servedFor / 1000)} s, publishing after ${Math.round(waitMs / 1000)} s`,
      Math.min(now + pollMs, observation.publishedAt + waitMs),
    );
  }
  return {
    publish: true,
    reason: `canary ${canary} serves config hash ${rendered.directoryHash.slice(0, 12)} since ${Math.round(servedFor / 1000)} s`,
  };
}

function sameServer(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The apply run's view of the canary: undefined lets it publish, otherwise it holds. */
export interface CanaryGate {
  check(
    rendered: FleetIdentity,
  ): Promise<{ message: string; details: string[]; retryAt: number } | undefined>;
}

/** A gate asking the canary through `observe` (the marker endpoint). */
export function createCanaryGate(options: {
  canary: string;
  waitMs: number;
  pollMs: number;
  now: () => number;
  observe: (canary: string) => Promise<CanaryObservation>;
}): CanaryGate {
  return {
    async check(rendered) {
      const observation = sameServer(rendered.server, options.canary)
        ? undefined
        : await options.observe(options.canary);
      const decision = decideCanary({
        self: rendered.server,
        canary: options.canary,
        rendered,
        observation,
        waitMs: options.waitMs,
        now: options.now(),
        pollMs: options.pollMs,
      });
      return decision.publish
        ? undefined
        : { message: decision.reason, details: [], retryAt: decision.retryAt };
    },
  };
}
