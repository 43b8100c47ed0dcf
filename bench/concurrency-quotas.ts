/**
 * AWS's default quotas for the requests the controller makes, as documented (US East (N. Virginia), the sandbox's
 * Region), each with the page it comes from. A token bucket (Step Functions, ELB) allows a burst of `bucket`
 * requests and sustains `refill` a second; a TPS quota (CloudWatch) and a throughput quota (DynamoDB, Lambda)
 * is a ceiling on every second.
 */

export interface Quota {
  /** The counters (sandbox/api-calls.ts) this quota limits (several: their sum). */
  apis: string[];
  label: string;
  /** What is counted: requests, or DynamoDB capacity units. */
  measure: 'requests' | 'units';
  kind: 'bucket' | 'per-second' | 'concurrency';
  /** Sustained requests (or units) a second: a bucket's refill rate, a TPS or throughput ceiling. */
  limit: number | null;
  /** A token bucket's size: the burst allowed on top of the refill. */
  bucket?: number;
  note: string;
  doc: string;
}

const SFN = 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html';
const SFN_API = `${SFN} (Quotas related to API action throttling; Other quotas)`;
const CW = 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html';
const ELB = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html';

export const QUOTAS: Quota[] = [
  {
    apis: ['lambda:Invoke'],
    label: 'Lambda concurrent executions',
    measure: 'requests',
    kind: 'concurrency',
    limit: 1000,
    note: 'Concurrent executions per Region, shared by every function of the account; new accounts start lower',
    doc: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  },
  {
    apis: ['states:StartExecution'],
    label: 'Step Functions StartExecution (Standard)',
    measure: 'requests',
    kind: 'bucket',
    limit: 300,
    bucket: 1300,
    note: 'bucket 1,300, refill 300/s (us-east-1, us-west-2, eu-west-1; other Regions 800 and 150/s)',
    doc: SFN_API,
  },
  {
    apis: ['states:StateTransition'],
    label: 'Step Functions state transitions (Standard)',
    measure: 'requests',
    kind: 'bucket',
    limit: 1500,
    bucket: 5000,
    note: 'bucket 5,000, refill 1,500/s (us-east-1, us-west-2, eu-west-1; other Regions 800 and 500/s); new accounts lower',
    doc: `${SFN} (Quotas related to state throttling)`,
  },
  {
    apis: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
    label: 'Step Functions SendTaskSuccess/Failure',
    measure: 'requests',
    kind: 'bucket',
    limit: 500,
    bucket: 3000,
    note: 'each: bucket 3,000, refill 500/s (other Regions 1,500 and 300/s)',
    doc: SFN_API,
  },
  {
    apis: ['states:DescribeExecution'],
    label: 'Step Functions DescribeExecution',
    measure: 'requests',
    kind: 'bucket',
    limit: 15,
    bucket: 300,
    note: 'bucket 300, refill 15/s (other Regions 250 and 10/s)',
    doc: SFN_API,
  },
  {
    apis: ['states:GetExecutionHistory'],
    label: 'Step Functions GetExecutionHistory',
    measure: 'requests',
    kind: 'bucket',
    limit: 20,
    bucket: 400,
    note: 'bucket 400, refill 20/s',
    doc: SFN_API,
  },
  {
    apis: ['states:ListExecutions'],
    label: 'Step Functions ListExecutions',
    measure: 'requests',
    kind: 'bucket',
    limit: 5,
    bucket: 200,
    note: 'bucket 200, refill 5/s (other Regions 100 and 2/s)',
    doc: SFN_API,
  },
  {
    apis: ['states:StopExecution'],
    label: 'Step Functions StopExecution',
    measure: 'requests',
    kind: 'bucket',
    limit: 200,
    bucket: 1000,
    note: 'bucket 1,000, refill 200/s (other Regions 500 and 25/s)',
    doc: SFN_API,
  },
  {
    apis: ['dynamodb:reads'],
    label: 'DynamoDB on-demand reads (RRU)',
    measure: 'units',
    kind: 'per-second',
    limit: 40000,
    note: 'table-level read throughput, on-demand: 40,000 read request units/s (new tables start lower and double)',
    doc: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
  },
  {
    apis: ['dynamodb:writes'],
    label: 'DynamoDB on-demand writes (WRU)',
    measure: 'units',
    kind: 'per-second',
    limit: 40000,
    note: 'table-level write throughput, on-demand: 40,000 write request units/s',
    doc: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
  },
  {
    apis: ['cloudwatch:GetMetricData'],
    label: 'CloudWatch GetMetricData',
    measure: 'requests',
    kind: 'per-second',
    limit: 50,
    note: '50 TPS per Region (adjustable)',
    doc: CW,
  },
  {
    apis: ['cloudwatch:DescribeAlarms'],
    label: 'CloudWatch DescribeAlarms',
    measure: 'requests',
    kind: 'per-second',
    limit: 9,
    note: '9 TPS per Region (adjustable)',
    doc: CW,
  },
  {
    apis: [
      'elbv2:DescribeRules',
      'elbv2:DescribeListeners',
      'elbv2:DescribeTargetGroups',
      'elbv2:DescribeTargetGroupAttributes',
      'elbv2:DescribeTags',
    ],
    label: 'ELBv2 Describe* (non-mutating)',
    measure: 'requests',
    kind: 'bucket',
    limit: 10,
    bucket: 40,
    note: 'all non-mutating ELB API v2 actions together: bucket 40, refill 10/s',
    doc: ELB,
  },
  {
    apis: ['elbv2:ModifyRule', 'elbv2:ModifyListener'],
    label: 'ELBv2 ModifyRule/ModifyListener',
    measure: 'requests',
    kind: 'bucket',
    limit: null,
    note: 'mutating actions have their own buckets; their sizes were not in the documentation text available here',
    doc: ELB,
  },
  {
    apis: ['xray:GetTimeSeriesServiceStatistics'],
    label: 'X-Ray GetTimeSeriesServiceStatistics',
    measure: 'requests',
    kind: 'per-second',
    limit: null,
    note: 'no default rate is published; ThrottledException when exceeded (API reference)',
    doc: 'https://docs.aws.amazon.com/xray/latest/api/API_GetTimeSeriesServiceStatistics.html',
  },
];
