import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Notifier, RolloutEvent } from '../functions/ports';
import { snsMessage } from '../functions/views/notification';

export interface ReceivedMessage {
  channel: 'pagerduty' | 'sns';
  body: Record<string, unknown>;
  at: number;
}

/**
 * Stands in for PagerDuty's Events API v2 and an SNS HTTP subscription on loopback, so notifications leave the
 * controller as real HTTP requests in the shapes those services take.
 */
export class LocalReceiver {
  readonly messages: ReceivedMessage[] = [];
  /**
   * PagerDuty events to refuse before accepting again (Infinity: down for good), each answered 503 as the Events
   * API v2 does when it is unavailable ("Send an Alert Event": 500/503 mean retry).
   */
  refusePagerDuty = 0;
  /** PagerDuty events refused so far. */
  refusedPagerDuty = 0;
  private server: http.Server | undefined;
  url = '';
  /** The service is down (fault injection): the HTTP status to answer this request with instead, if any. */
  refuse?: (channel: ReceivedMessage['channel']) => number | undefined;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end('{"status":"invalid event","message":"Event object is invalid"}');
          return;
        }
        const channel = req.url === '/v2/enqueue' ? 'pagerduty' : req.url === '/sns' ? 'sns' : undefined;
        const refused = channel && this.refuse?.(channel);
        if (refused) {
          res.writeHead(refused, { 'content-type': 'application/json' }).end('{"status":"unavailable"}');
          return;
        }
        if (req.url === '/v2/enqueue') {
          if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) {
            res
              .writeHead(400, { 'content-type': 'application/json' })
              .end(
                '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}',
              );
            return;
          }
          if (this.refusePagerDuty > 0) {
            this.refusePagerDuty--;
            this.refusedPagerDuty++;
            res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
            return;
          }
          this.messages.push({ channel: 'pagerduty', body, at: performance.now() });
          res
            .writeHead(202, { 'content-type': 'application/json' })
            .end(
              JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }),
            );
          return;
        }
        if (req.url === '/sns') {
          this.messages.push({ channel: 'sns', body, at: performance.now() });
          res.writeHead(200).end();
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Delivers what SNS would deliver to an HTTP subscriber: a Notification with the message and its attributes. */
export class LocalSnsNotifier implements Notifier {
  readonly name = 'sns';
  constructor(
    private readonly url: () => string,
    private readonly topicArn: string,
  ) {}

  async notify(event: RolloutEvent): Promise<void> {
    const m = snsMessage(event);
    const res = await fetch(`${this.url()}/sns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-amz-sns-message-type': 'Notification' },
      body: JSON.stringify({
        Type: 'Notification',
        MessageId: crypto.randomUUID(),
        TopicArn: this.topicArn,
        Subject: m.subject,
        Message: m.message,
        Timestamp: new Date().toISOString(),
        MessageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [k, { Type: 'String', Value: v }]),
        ),
      }),
    });
    if (!res.ok) throw new Error(`SNS endpoint answered ${res.status}`);
  }
}
