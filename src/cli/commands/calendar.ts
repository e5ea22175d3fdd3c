import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../core/atomic.js';
import type { IsoDate } from '../../core/dates.js';
import { UsageError } from '../../core/errors.js';
import {
  DEFAULT_SCHEDULE_ANCHOR,
  DEFAULT_SESSION_INTERVAL,
  nextRebalanceDates,
  rebalanceDates,
  scheduleJson,
  type ScheduleRule,
} from '../../calendar/schedule.js';
import { XnysCalendar } from '../../calendar/xnys.js';
import { isoDateArgument, positiveIntegerArgument, printLines } from '../arguments.js';

interface DateRangeFlags {
  from: IsoDate;
  to: IsoDate;
}

interface ScheduleFlags {
  from: IsoDate;
  next: number;
  anchor: IsoDate;
  every: number;
  outputDir?: string;
}

const DEFAULT_SCHEDULE_LENGTH = 10;

export function registerCalendarCommands(program: Command): void {
  const calendar = program
    .command('calendar')
    .description('The NYSE (XNYS) trading calendar, 1990-01-01..2030-12-31: holidays, special closures and early closes.');

  withDateRange(calendar.command('sessions').description('Print the trading sessions in [--from, --to], one date per line.')).action(
    (flags: DateRangeFlags) => {
      printLines(new XnysCalendar().sessions(...validRange(flags)));
    },
  );

  withDateRange(
    calendar.command('early-closes').description('Print the early-close sessions in [--from, --to] as "date,close", close in HH:MM New York time.'),
  ).action((flags: DateRangeFlags) => {
    printLines(new XnysCalendar().earlyCloses(...validRange(flags)).map(({ date, close }) => `${date},${close}`));
  });

  program
    .command('schedule')
    .description('Print the next rebalance dates of the every-N-sessions rule (Risk4), one per line; optionally write schedule.json.')
    .requiredOption('--from <date>', 'first candidate date, inclusive (YYYY-MM-DD)', isoDateArgument('--from'))
    .option('--next <count>', 'how many rebalance dates to list', positiveIntegerArgument('--next'), DEFAULT_SCHEDULE_LENGTH)
    .option('--anchor <date>', 'anchor date; counting starts at the first session on or after it', isoDateArgument('--anchor'), DEFAULT_SCHEDULE_ANCHOR)
    .option('--every <sessions>', 'rebalance every N sessions', positiveIntegerArgument('--every'), DEFAULT_SESSION_INTERVAL)
    .option('--output-dir <dir>', 'also write <dir>/schedule.json (replaced atomically)')
    .action(async (flags: ScheduleFlags) => {
      await scheduleCommand(flags);
    });
}

function withDateRange(command: Command): Command {
  return command
    .requiredOption('--from <date>', 'first date, inclusive (YYYY-MM-DD)', isoDateArgument('--from'))
    .requiredOption('--to <date>', 'last date, inclusive (YYYY-MM-DD)', isoDateArgument('--to'));
}

function validRange({ from, to }: DateRangeFlags): [IsoDate, IsoDate] {
  requireWithinCalendar('--from', from);
  requireWithinCalendar('--to', to);
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  return [from, to];
}

function requireWithinCalendar(flag: string, date: IsoDate): void {
  const { name, firstDate, lastDate } = new XnysCalendar();
  if (date < firstDate || date > lastDate) {
    throw new UsageError(`${flag} ${date} is outside the ${name} calendar, which covers ${firstDate}..${lastDate}`);
  }
}

async function scheduleCommand(flags: ScheduleFlags): Promise<void> {
  requireWithinCalendar('--from', flags.from);
  requireWithinCalendar('--anchor', flags.anchor);
  const calendar = new XnysCalendar();
  const rule: ScheduleRule = { type: 'every_n_sessions', anchor: flags.anchor, every: flags.every };
  const available = rebalanceDates(rule, calendar, flags.from, calendar.lastDate).length;
  if (available < flags.next) {
    throw new UsageError(`only ${available} rebalance dates from ${flags.from} fall within the ${calendar.name} calendar, which ends ${calendar.lastDate}`);
  }
  if (flags.outputDir !== undefined) {
    const schedule = scheduleJson(rule, calendar, flags.from, flags.next, new Date().toISOString().slice(0, 19));
    await writeFileAtomic(join(flags.outputDir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  }
  printLines(nextRebalanceDates(rule, calendar, flags.from, flags.next));
}
