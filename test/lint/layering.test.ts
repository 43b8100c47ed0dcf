/**
 * The layering is a lint rule (biome.json, style/noRestrictedImports per folder): functions/core imports no SDK,
 * adapter, handler, task, view, sandbox or port; a view imports no SDK, adapter, handler, task, sandbox or port;
 * a task imports no SDK, adapter, handler or sandbox. These run
 * the project's Biome with the project's configuration, over the tree and over probe files that break the rule.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIOME = resolve('node_modules/.bin/biome');

interface Diagnostic {
  category: string;
  location: { path: string };
}

/** Biome's lint diagnostics of the restricted-import rule alone, over `paths` below `cwd`. */
function restrictedImports(cwd: string, paths: string[]): Diagnostic[] {
  const run = spawnSync(
    BIOME,
    ['lint', '--reporter=json', '--only=style/noRestrictedImports', '--max-diagnostics=none', ...paths],
    { cwd, encoding: 'utf8' },
  );
  const report = JSON.parse(run.stdout) as { diagnostics: Diagnostic[] };
  return report.diagnostics.filter((d) => d.category === 'lint/style/noRestrictedImports');
}

const probes = mkdtempSync(join(tmpdir(), 'canary-layering-'));
afterAll(() => rmSync(probes, { recursive: true, force: true }));

function probe(path: string, source: string): string {
  mkdirSync(dirname(join(probes, path)), { recursive: true });
  writeFileSync(join(probes, path), source);
  return path;
}

describe('layering', () => {
  it('holds in the tree: no restricted import in functions/', () => {
    expect(restrictedImports(process.cwd(), ['functions']).map((d) => d.location.path)).toEqual([]);
  });

  it('refuses core importing the SDK, an adapter, a handler, a task, a view, the sandbox or the ports', () => {
    // Prepare
    copyFileSync('biome.json', join(probes, 'biome.json'));
    const files = [
      "import { SFNClient } from '@aws-sdk/client-sfn';",
      "import type { ECSClient } from '@aws-sdk/client-ecs';",
      "import { AlbTrafficRouter } from '../adapters/aws/alb';",
      "import { region } from '../handlers/env';",
      "import { rolloutInput } from '../tasks/lib/inputs';",
      "import { reportHtml } from '../views/report';",
      "import { World } from '../../sandbox/world';",
      "import type { Clock } from '../ports';",
      "import type { RolloutStore } from '../ports-store';",
    ].map((line, i) => probe(`functions/core/probe-${i}.ts`, `${line}\n`));
    files.push(probe('functions/core/stats/probe.ts', "import '../../adapters/aws/alb';\n"));

    // Act
    const refused = restrictedImports(probes, ['functions']).map((d) => d.location.path);

    // Assess
    expect(refused.sort()).toEqual(files.sort());
  });

  it('refuses a view importing the SDK, an adapter, a handler, a task, the sandbox or the ports, and lets it use core', () => {
    // Prepare
    copyFileSync('biome.json', join(probes, 'biome.json'));
    const files = [
      "import { SFNClient } from '@aws-sdk/client-sfn';",
      "import middy from '@middy/core';",
      "import { AlbTrafficRouter } from '../adapters/aws/alb';",
      "import { region } from '../handlers/env';",
      "import { makeApprovalPage } from '../tasks/approval-page';",
      "import { World } from '../../sandbox/world';",
      "import type { Clock } from '../ports';",
      "import type { RolloutStore } from '../ports-store';",
    ].map((line, i) => probe(`functions/views/probe-${i}.ts`, `${line}\n`));
    probe('functions/views/probe-core.ts', "import '../core/verdict';\nimport './report-html';\n");

    // Act
    const refused = restrictedImports(probes, ['functions/views']).map((d) => d.location.path);

    // Assess
    expect(refused.sort()).toEqual(files.sort());
  });

  it('refuses a task importing the SDK, an adapter, a handler or the sandbox, and lets adapters use the SDK', () => {
    // Prepare
    copyFileSync('biome.json', join(probes, 'biome.json'));
    const files = [
      probe('functions/tasks/probe-sdk.ts', "import '@aws-sdk/client-elastic-load-balancing-v2';\n"),
      probe('functions/tasks/probe-adapter.ts', "import '../adapters/aws/alb';\n"),
      probe('functions/tasks/lib/probe-handler.ts', "import '../../handlers/aws';\n"),
      probe('functions/tasks/probe-sandbox.ts', "import '../../sandbox/world';\n"),
    ];
    probe('functions/tasks/probe-core.ts', "import '../core/plan';\nimport '../ports';\n");
    probe('functions/adapters/aws/probe.ts', "import '@aws-sdk/client-sfn';\nimport '../../core/plan';\n");

    // Act
    const refused = restrictedImports(probes, ['functions/tasks', 'functions/adapters']).map(
      (d) => d.location.path,
    );

    // Assess
    expect(refused.sort()).toEqual(files.sort());
  });
});
