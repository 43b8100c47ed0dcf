/**
 * The names the controller's own events travel under, without their schemas (core/events.ts): a Lambda that only
 * publishes state changes bundles these, not the event and config schemas.
 */

/** The source the controller's own events carry (Deploy Requested from pipelines and the CLI). */
export const CONTROLLER_EVENT_SOURCE = 'canary.controller';
/** The controller's own event bus, where Deploy Requested starts a rollout (its stack's default name). */
export const CONTROLLER_EVENT_BUS_NAME = 'canary-controller';
