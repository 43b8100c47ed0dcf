/**
 * A secret read once per cold start and kept in memory. A failed read is not cached, so the next call tries
 * again. The value never appears in an error message.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type AdapterOptions, AwsCaller } from './sdk';

export class SecretCache {
  private readonly aws: AwsCaller;
  private value: Promise<string> | undefined;

  constructor(
    private readonly secrets: SecretsManagerClient,
    readonly secretId: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  get(): Promise<string> {
    if (!this.value) {
      this.value = this.read();
      this.value.catch(() => {
        this.value = undefined;
      });
    }
    return this.value;
  }

  private async read(): Promise<string> {
    const out = await this.aws.call(
      'secretsmanager:GetSecretValue',
      this.secretId,
      () => this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretId })),
      { notFound: { ResourceNotFoundException: `secret ${this.secretId} does not exist` } },
    );
    if (typeof out.SecretString !== 'string' || out.SecretString.length === 0) {
      throw new Error(`secret ${this.secretId} has no string value`);
    }
    return out.SecretString;
  }
}

/**
 * The PagerDuty routing key from a secret's string: the raw key, or JSON `{"routingKey": "..."}` (also accepted:
 * `routing_key`). Errors name the secret, never its content.
 */
export function routingKeyFrom(secretString: string, secretId: string): string {
  const text = secretString.trim();
  if (!text.startsWith('{')) {
    if (text.length === 0 || /\s/.test(text))
      throw new Error(`secret ${secretId} does not hold a PagerDuty routing key`);
    return text;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`secret ${secretId} looks like JSON but does not parse`);
  }
  const record = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const key = record.routingKey ?? record.routing_key;
  if (typeof key !== 'string' || key.trim().length === 0) {
    throw new Error(`secret ${secretId} has no "routingKey" field`);
  }
  return key.trim();
}
