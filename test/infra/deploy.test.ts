/**
 * The deploy story as the README tells it: the app (infra/app.ts, run as the CDK CLI runs it) synthesizes a
 * template that takes account and region from where it is deployed, and samconfig.toml configures only the SAM CLI
 * commands that work on a CDK app (AWS SAM Developer Guide, "Deploying AWS CDK applications": the SAM CLI does not
 * deploy them; "Locally testing AWS CDK applications": `sam local invoke` / `start-lambda` on the synthesized
 * template).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/controller-function';
import { EXAMPLE_SERVICE, STACK_NAME } from '../../infra/stack';

// A user's service in another account and region than the example's.
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const EXAMPLE_ACCOUNT = '123456789012';
const EXAMPLE_REGION = 'us-east-1';
const mine = (arn: string) => arn.replaceAll(EXAMPLE_ACCOUNT, ACCOUNT).replaceAll(EXAMPLE_REGION, REGION);
const USER_SERVICE = JSON.parse(mine(JSON.stringify(EXAMPLE_SERVICE)));

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON
type Cfn = any;
let template: Cfn;
let templateText: string;
let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'canary-app-'));
  const servicesFile = path.join(outdir, 'services.json');
  writeFileSync(servicesFile, JSON.stringify([USER_SERVICE]));
  const env: Record<string, string | undefined> = {
    ...process.env,
    CDK_OUTDIR: outdir,
    CANARY_SERVICES_FILE: servicesFile,
    // As `cdk synth` passes context; bundling is not what this test is about (test/infra/controller.test.ts).
    CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
  };
  delete env.CDK_DEFAULT_ACCOUNT;
  delete env.CDK_DEFAULT_REGION;
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra', 'app.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: 'pipe',
  });
  templateText = readFileSync(path.join(outdir, `${STACK_NAME}.template.json`), 'utf8');
  template = JSON.parse(templateText);
}, 120_000);

describe('the synthesized template', () => {
  it('bakes in no example account or region: ARNs, conditions and the asset bucket use pseudo parameters', () => {
    expect(templateText).not.toContain(EXAMPLE_ACCOUNT);
    expect(templateText).not.toContain(EXAMPLE_REGION);
    // The user's own resources are named as configured, in the service configs the deploy publishes (an asset).
    const configs = readdirSync(outdir)
      .filter((f) => /^asset\.[0-9a-f]+\.json$/.test(f))
      .map((f) => readFileSync(path.join(outdir, f), 'utf8'));
    expect(configs.join('\n')).toContain(
      `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/web/`,
    );

    const resources = Object.values(template.Resources) as { Type: string; Properties: Cfn }[];
    const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const f of functions) {
      expect(f.Properties.Code.S3Bucket).toEqual({
        'Fn::Sub': expect.stringContaining(`\${AWS::AccountId}-\${AWS::Region}`),
      });
    }
    // The topic lets CloudWatch alarms of the deploying account publish.
    const topicPolicy = resources.find((r) => r.Type === 'AWS::SNS::TopicPolicy');
    const statement = topicPolicy?.Properties.PolicyDocument.Statement.find(
      (s: { Sid?: string }) => s.Sid === 'CloudWatchAlarmsPublish',
    );
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
    // Functions know the state machine by an ARN in the deploying account and region.
    const env = functions.map((f) => f.Properties.Environment.Variables.STATE_MACHINE_ARN).find(Boolean);
    expect(JSON.stringify(env)).toContain('{"Ref":"AWS::Region"}');
    expect(JSON.stringify(env)).toContain('{"Ref":"AWS::AccountId"}');
  });
});

/**
 * TOML as samconfig.toml uses it: `[table.names]`, `key = "string" | number | true | false`, comments and blank
 * lines. Anything else throws, naming the line.
 */
function parseSamconfig(text: string): Record<string, Record<string, string | number | boolean>> {
  const tables: Record<string, Record<string, string | number | boolean>> = { '': {} };
  let current = '';
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const header = /^\[([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\]$/.exec(line);
    if (header) {
      current = header[1] as string;
      if (tables[current]) throw new Error(`line ${i + 1}: table [${current}] twice`);
      tables[current] = {};
      return;
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false)\s*(?:#.*)?$/.exec(
      line,
    );
    if (!pair) throw new Error(`line ${i + 1}: not a TOML key = value: ${raw}`);
    const [, key, value] = pair as unknown as [string, string, string];
    const table = tables[current] as Record<string, string | number | boolean>;
    if (key in table) throw new Error(`line ${i + 1}: key ${key} twice`);
    table[key] = value.startsWith('"')
      ? JSON.parse(value)
      : value === 'true' || value === 'false'
        ? value === 'true'
        : Number(value);
  });
  return tables;
}

describe('samconfig.toml and the README', () => {
  const samconfig = parseSamconfig(readFileSync(path.join(REPO_ROOT, 'samconfig.toml'), 'utf8'));
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const templatePath = `cdk.out/${STACK_NAME}.template.json`;

  it('configures only sam local commands, each on the template the app synthesizes', () => {
    expect(samconfig['']?.version).toBe(0.1);
    const commands = Object.keys(samconfig).filter((t) => t !== '');
    expect(commands.length).toBeGreaterThan(0);
    for (const table of commands) {
      // [<environment>.<command>.parameters], the command with _ for spaces and -.
      const [environment, command, parameters] = table.split('.');
      expect(environment).toBe('default');
      expect(parameters).toBe('parameters');
      expect(command, table).toMatch(/^local_/);
      expect(samconfig[table]?.template_file, table).toBe(templatePath);
    }
    // The app writes exactly that file (`npm run synth` writes cdk.out/).
    expect(readFileSync(path.join(outdir, `${STACK_NAME}.template.json`), 'utf8')).toBe(templateText);
  });

  it('shows no sam command that does not work on a CDK app, and only configured ones', () => {
    const samLines = readme
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^sam\s/.test(l));
    expect(samLines.length).toBeGreaterThan(0);
    for (const line of samLines) {
      expect(line).not.toMatch(/^sam\s+(deploy|sync|build|package)\b/);
      const [, group, command] = /^sam\s+(\S+)\s+(\S+)/.exec(line) ?? [];
      // samconfig names a command with _ for spaces and hyphens: `sam local start-lambda` → local_start_lambda.
      const table = `default.${group}_${command?.replaceAll('-', '_')}.parameters`;
      expect(samconfig[table], line).toBeDefined();
    }
    expect(readme).not.toMatch(/sam deploy/);
    expect(readme).toMatch(/npx cdk deploy/);
  });
});
