/**
 * The Node the sandbox needs: aws-local-stepfunctions 3.x uses APIs of Node 22 (Promise.withResolvers). On an older
 * Node every task of every execution fails inside the engine, and each rollout would end "rolled back" for a reason
 * that has nothing to do with its version: the sandbox refuses to start instead.
 */
export const MIN_NODE_MAJOR = 22;

/** Why this Node cannot run the sandbox, or undefined when it can. `version` as process.version ("v22.12.0"). */
export function unsupportedNode(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined;
  return (
    `the sandbox needs Node ${MIN_NODE_MAJOR} or later, this is ${version}: run it with \`npm start\`, which uses the ` +
    'Node that `npm install` brought (node_modules/.bin/node)'
  );
}
