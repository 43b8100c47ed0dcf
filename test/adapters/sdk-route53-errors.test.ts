import { describe, expect, it } from 'vitest';
import { AwsCaller } from '../../functions/adapters/aws/sdk';

/** An SDK error as @aws-sdk/client-route-53 raises it (name, client fault, HTTP 400). */
function route53Error(name: string): Error {
  return Object.assign(new Error(`${name} from Route 53`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('AwsCaller: Route 53 errors', () => {
  it('retries PriorRequestNotComplete, as API_ChangeResourceRecordSets asks (wait, then send it again)', async () => {
    // Prepare
    const aws = new AwsCaller({ attempts: 3, sleep: async () => undefined, random: () => 0.5 });
    let calls = 0;
    // Act
    const result = await aws.call('route53:ChangeResourceRecordSets', 'hostedzone/Z1', async () => {
      calls++;
      if (calls < 3) throw route53Error('PriorRequestNotComplete');
      return 'ok';
    });
    // Assess
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('names PriorRequestNotComplete Transient once retries are spent, so the workflow retries it', async () => {
    const aws = new AwsCaller({ attempts: 2, sleep: async () => undefined, random: () => 0.5 });
    await expect(
      aws.call('route53:ChangeResourceRecordSets', 'hostedzone/Z1', async () => {
        throw route53Error('PriorRequestNotComplete');
      }),
    ).rejects.toMatchObject({ name: 'Transient' });
  });
});
