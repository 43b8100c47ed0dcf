/**
 * Powertools Logger, Tracer and Metrics, one of each per cold start, and the middleware that puts them around a
 * task's middy handler. The logger is the tasks' `log` dep (it fits the Log port).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { METRICS_NAMESPACE, METRICS_SERVICE as SERVICE_NAME } from '../core/outcome-metrics';
import type { Log } from '../ports';
import type { TaskHandler } from '../tasks/lib/task';

// serviceName / namespace: POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE win when set.
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
});

/** The logger as the tasks see it (Powertools takes no `undefined` extra argument). */
export const log: Log = {
  info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
  warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
  error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
};

/** Wrap an SDK client so its calls appear as X-Ray subsegments (a no-op when tracing is disabled). */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}

/**
 * The task's middy handler with Lambda context in every log line, a traced invocation and metrics flushed at the
 * end (a cold-start metric per function). `name` is the task, added to every log line.
 *
 * Neither the event nor the response is recorded: events carry task tokens (the waits' `token`) and the approval
 * page's request and response carry its signed link, the only credential to approve or reject. Powertools' tracer
 * would otherwise put every handler's response in the X-Ray trace as metadata (Powertools for AWS Lambda
 * (TypeScript), Tracer: "captureResponse", on by default), and its logger logs the event when
 * POWERTOOLS_LOGGER_LOG_EVENT is set; both are off here whatever the environment says. Errors are still recorded:
 * the adapters never name a token in one (functions/adapters/aws/sfn.ts).
 */
export function withObservability<R>(handler: TaskHandler<R>, name: string): TaskHandler<R> {
  logger.appendPersistentKeys({ task: name });
  return handler
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(logMetrics(metrics, { captureColdStartMetric: true, throwOnEmptyMetrics: false })) as TaskHandler<R>;
}
