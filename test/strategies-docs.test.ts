import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { REPO_ROOT } from './helpers/cli.js';

const GUIDE = join(REPO_ROOT, 'docs', 'write-a-strategy.md');

/** The fenced blocks of a markdown file written in `language`. */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm'))].map((match) => match[1]!);
}

describe('README.md "Write a strategy"', () => {
  it('shows the same example plugin verbatim', async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Write a strategy'));
    const example = await readFile(join(REPO_ROOT, 'strategies', 'example-momentum', 'index.ts'), 'utf8');
    expect(codeBlocks(section, 'ts')[0]).toBe(example);
  });
});

describe('docs/write-a-strategy.md', () => {
  it('shows strategies/example-momentum/index.ts verbatim, so the example a newcomer copies is the tested one', async () => {
    const guide = await readFile(GUIDE, 'utf8');
    const example = await readFile(join(REPO_ROOT, 'strategies', 'example-momentum', 'index.ts'), 'utf8');
    expect(codeBlocks(guide, 'ts')[0]).toBe(example);
  });

  it('registers the example exactly as config/example.yaml does', async () => {
    const [registration] = codeBlocks(await readFile(GUIDE, 'utf8'), 'yaml');
    const shown = parseConfig(registration!, 'docs/write-a-strategy.md');
    expect(shown.strategies).toEqual((await loadConfig(join(REPO_ROOT, 'config', 'example.yaml'))).strategies);
  });
});
