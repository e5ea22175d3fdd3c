import { describe, expect, it } from 'vitest';
import { BackgroundCheckpoint } from '../src/replay/background-checkpoint.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

describe('a checkpoint written in the background', () => {
  it('is waited for by settled(), and one at a time', async () => {
    const checkpointing = new BackgroundCheckpoint();
    const order: string[] = [];
    checkpointing.start(async () => {
      await tick();
      order.push('written');
    });
    expect(() => checkpointing.start(async () => undefined)).toThrow(/still being written/);
    order.push('replay goes on');
    await checkpointing.settled();
    order.push('next checkpoint');
    expect(order).toEqual(['replay goes on', 'written', 'next checkpoint']);
    checkpointing.start(async () => undefined);
    await checkpointing.settled();
    await checkpointing.settled();
  });

  it('raises its failure at the next settled(), not as an unhandled rejection meanwhile', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const checkpointing = new BackgroundCheckpoint();
      checkpointing.start(async () => {
        throw new Error('ENOSPC: no space left on device');
      });
      await tick();
      await tick();
      expect(unhandled).toEqual([]);
      await expect(checkpointing.settled()).rejects.toThrow(/ENOSPC/);
      await checkpointing.settled();
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('is waited for, its failure dropped, on a path that already fails', async () => {
    const checkpointing = new BackgroundCheckpoint();
    let finished = false;
    checkpointing.start(async () => {
      await tick();
      finished = true;
      throw new Error('disk gone');
    });
    await checkpointing.abandoned();
    expect(finished).toBe(true);
  });
});
