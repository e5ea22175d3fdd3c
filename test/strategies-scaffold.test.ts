import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { scaffoldStrategy } from '../src/engine/scaffold.js';
import { REPO_ROOT, runCli, treeDigest, useTempDir } from './helpers/cli.js';

const NAME = 'probe-reversal';
const GENERATED = ['README.md', 'index.ts', `${NAME}.test.ts`];

/** Type errors in `files` under the repository's compiler options (errors elsewhere in the tree are not ours to judge here). */
function typeErrors(files: readonly string[]): string[] {
  const configPath = join(REPO_ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT, undefined, configPath);
  // rootDir only shapes emitted paths; the scaffold lives outside it.
  const program = ts.createProgram(files, { ...options, noEmit: true, rootDir: undefined });
  const ours = new Set(files);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || ours.has(d.file.fileName))
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

/** ESLint messages for the files as if they sat in strategies/<name>/, where the repo's rules apply. */
async function lintMessages(folder: string, files: readonly string[]): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const messages: string[] = [];
  for (const file of files) {
    const [result] = await eslint.lintText(await readFile(join(folder, file), 'utf8'), { filePath: join(REPO_ROOT, 'strategies', NAME, file) });
    messages.push(...result!.messages.map((m) => `${file}:${m.line}: ${m.ruleId ?? ''} ${m.message}`));
  }
  return messages;
}

/** `vitest run` in a child process rooted at `dir`, outside this run and its config. */
function runVitest(dir: string): { status: number | null; output: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const run = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', dir], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('kairos strategies new', () => {
  const tempDir = useTempDir('kairos-scaffold-');

  it('writes a plugin, README and test that typecheck, lint clean, and whose test passes as generated', async () => {
    const parent = tempDir();
    // The generated code imports zod and vitest; a folder outside the repo finds them through this link.
    await symlink(join(REPO_ROOT, 'node_modules'), join(parent, 'node_modules'), 'dir');
    const result = await runCli(['strategies', 'new', NAME, '--dir', parent]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const folder = join(parent, NAME);
    expect(result.stdout.split('\n').slice(0, 3)).toEqual([`created ${folder}/index.ts`, `created ${folder}/README.md`, `created ${folder}/${NAME}.test.ts`]);
    expect(result.stdout).toContain(`npx vitest run ${folder}/${NAME}.test.ts`);
    expect((await readdir(folder)).sort()).toEqual(GENERATED);

    expect(typeErrors([join(folder, 'index.ts'), join(folder, `${NAME}.test.ts`)])).toEqual([]);
    expect(await lintMessages(folder, ['index.ts', `${NAME}.test.ts`])).toEqual([]);

    const vitest = runVitest(parent);
    expect(vitest.output).toMatch(/Tests\s+4 passed \(4\)/);
    expect(vitest.status).toBe(0);

    const readme = await readFile(join(folder, 'README.md'), 'utf8');
    expect(readme).toContain('# probe-reversal — short-term reversal');
    expect(readme).toContain('score = −(1 / window) × Σ r_t');
  });

  it('makes a plugin in <tree>/strategies a built-in: module is its name, imports reach src/ two levels up', async () => {
    const tree = tempDir();
    const built = await scaffoldStrategy({ name: 'mean-reversion', parentDir: join(tree, 'strategies'), sourceRoot: tree });
    expect(built.moduleSpecifier).toBe('mean-reversion');
    const plugin = await readFile(join(tree, 'strategies', 'mean-reversion', 'index.ts'), 'utf8');
    expect(plugin).toContain("from '../../src/engine/strategy.js'");
    expect(plugin).toContain('export const meanReversionParamsSchema = z.strictObject({');
    expect(plugin).toContain('export function rebalanceMeanReversion(market: PointInTimeMarket, params: MeanReversionParams): StrategyOutput {');
    expect(plugin).toContain("name: 'mean-reversion',");
    expect(await readFile(join(tree, 'strategies', 'mean-reversion', 'README.md'), 'utf8')).toContain('    module: mean-reversion\n');

    const elsewhere = await scaffoldStrategy({ name: 'carry', parentDir: join(tree, 'plugins'), sourceRoot: tree });
    // A config in config/ reaches it by this path.
    expect(elsewhere.moduleSpecifier).toBe('../plugins/carry');
    expect(await readFile(join(tree, 'plugins', 'carry', 'carry.test.ts'), 'utf8')).toContain("from '../../src/data/panel-builder.js'");
  });

  it('refuses invalid names with exit 2 and writes nothing', async () => {
    const parent = tempDir();
    for (const name of ['Momentum', 'my_strategy', '2fast', 'a--b', 'trailing-', 'x'.repeat(65)]) {
      const result = await runCli(['strategies', 'new', name, '--dir', parent]);
      expect(result.code, name).toBe(2);
      expect(result.stderr).toBe(
        `kairos: strategies new: "${name}" is not a valid strategy name; use lowercase letters and digits in words joined by single hyphens, starting with a letter (e.g. "mean-reversion", at most 64 characters)\n`,
      );
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses an existing folder with exit 2 and leaves it untouched', async () => {
    const parent = tempDir();
    await mkdir(join(parent, 'taken'));
    await writeFile(join(parent, 'taken', 'index.ts'), 'export default "mine";\n');
    const before = await treeDigest(parent);
    const result = await runCli(['strategies', 'new', 'taken', '--dir', parent]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`kairos: strategies new: ${join(parent, 'taken')} already exists; pick another name or remove it first\n`);
    expect(await treeDigest(parent)).toEqual(before);
  });
});
