import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as v from '../../core/valibot';
import { parseInput } from '../../core/validation';

/** A task's handler as the sandbox and tests call it: the middy handler with Lambda's (event, context). */
export type TaskHandler<R> = ((event: unknown, context: Context) => Promise<R>) &
  middy.MiddyfiedHandler<unknown, R>;

/**
 * Middleware that parses the event against a schema before the handler runs; a bad event fails with
 * InputInvalid naming every wrong field, and the handler (so every side effect) never runs.
 */
function parseEvent<S extends v.GenericSchema>(schema: S, subject: string): middy.MiddlewareObj<unknown> {
  return {
    before: (request) => {
      request.event = parseInput(schema, request.event, subject);
    },
  };
}

/** A middy handler whose event is parsed by `schema` first. */
export function task<S extends v.GenericSchema, R>(
  subject: string,
  schema: S,
  fn: (input: v.InferOutput<S>, context: Context) => Promise<R>,
): TaskHandler<R> {
  return middy<unknown, R>()
    .use(parseEvent(schema, subject))
    .handler((event, context) => fn(event as v.InferOutput<S>, context)) as TaskHandler<R>;
}
