import { z } from 'zod';
import { fillConfigSchema } from './fills.js';

/** Config `replay:` — the fill and cost model plus how the run is recorded. */
export const replayConfigSchema = fillConfigSchema.extend({
  /** Sessions between checkpoints (state + ledgers + output offsets) that `--resume` restarts from. */
  checkpoint_every: z.number().int().min(1).default(250),
  /** Also run each strategy alone as its own book (the seed's comparison table). */
  solo_books: z.boolean().default(true),
  /** positions.csv rows: every session, the last session of each month, or the last session only. */
  positions: z.enum(['daily', 'monthly', 'final']).default('monthly'),
});
export type ReplayConfig = z.infer<typeof replayConfigSchema>;
