/**
 * Child process for test/cli/startup.test.ts: prints `resad --help` and every
 * `resad <command> --help`, then one JSON line listing the heavy packages
 * (tfjs, sharp, danfojs) that got loaded on the way -- there should be none.
 */
import Module = require('module');

const heavy = new Set<string>();
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleWithLoad = Module as unknown as { _load: Load };
const originalLoad = moduleWithLoad._load;
moduleWithLoad._load = function (request: string, parent: unknown, isMain: boolean): unknown {
  const match = /^(@tensorflow\/[^/]+|sharp|danfojs-node|onnxruntime-node|protobufjs)(\/|$)/.exec(request);
  if (match) heavy.add(match[1]);
  return originalLoad.call(this, request, parent, isMain);
};

async function probe(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cli = require('../../src/cli/main') as typeof import('../../src/cli/main');
  const log = console.log;
  console.log = () => undefined;
  try {
    await cli.main(['--help']);
    for (const command of cli.COMMANDS) await cli.main([command.name, '--help']);
  } finally {
    console.log = log;
  }
  console.log(JSON.stringify({ commands: cli.COMMANDS.map((c) => c.name), heavy: [...heavy].sort() }));
}

probe().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
