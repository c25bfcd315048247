// `npm run bench`: the micro benches, the KeyIndex latency bench, then the engine macro bench, in one process.
//   node dist/bench/run-all.js [micro|keyindex|engine|all] [--quick] [--only=small,large,reopen] [--attempts=N] [--best-of=N] [--quiet-wait=S]
// --quick (or SEDIMENT_BENCH_QUICK=1) uses smoke-test sizes; --only picks engine parts.
// On a shared machine: --quiet-wait=S (SEDIMENT_BENCH_QUIET_S) waits up to S seconds for other processes to
// go quiet before each timed phase; --attempts=N (SEDIMENT_BENCH_ATTEMPTS) repeats an acceptance
// measurement during which other processes kept more than 0.3 cores busy, keeping the least disturbed run;
// --best-of=N (SEDIMENT_BENCH_BEST_OF, 1..9) instead runs each of (a) and (b), sediment and its references
// alike, N times and keeps the fastest (this VM's speed moves by 10-30 % from run to run).
// Temporary data goes under $SEDIMENT_BENCH_DIR (default: the OS temp dir) and is removed afterwards;
// JSON results stay in <that dir>/sediment-bench-results/.
import { ENGINE_PARTS, runEngineBench, type EnginePart } from './engine.bench.js';
import { runKeyIndexBench } from './key-index.bench.js';
import { runMicroBench } from './micro.bench.js';
import { quickMode } from './setup.js';

function usage(problem: string): never {
  console.error(
    `run-all: ${problem}\nusage: node dist/bench/run-all.js [micro|keyindex|engine|all] [--quick] [--only=${ENGINE_PARTS.join(',')}] [--attempts=N] [--best-of=N] [--quiet-wait=S]`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const which = positional[0] ?? 'all';
if (positional.length > 1 || !['micro', 'keyindex', 'engine', 'all'].includes(which)) usage(`unexpected arguments: ${positional.join(' ')}`);
let parts: EnginePart[] | undefined;
for (const a of args.filter((x) => x.startsWith('--'))) {
  if (a === '--quick') continue;
  if (a.startsWith('--only=')) {
    const list = a.slice('--only='.length).split(',').filter(Boolean);
    const bad = list.filter((p) => !(ENGINE_PARTS as string[]).includes(p));
    if (bad.length > 0 || list.length === 0) usage(`unknown engine part(s): ${bad.join(', ') || '(none given)'}`);
    parts = list as EnginePart[];
    continue;
  }
  const num = /^--(attempts|quiet-wait|best-of)=(\d+)$/.exec(a);
  if (num) {
    process.env[num[1] === 'attempts' ? 'SEDIMENT_BENCH_ATTEMPTS' : num[1] === 'best-of' ? 'SEDIMENT_BENCH_BEST_OF' : 'SEDIMENT_BENCH_QUIET_S'] = num[2];
    continue;
  }
  usage(`unknown option ${a}`);
}

const quick = quickMode(args);
const started = performance.now();
if (which === 'micro' || which === 'all') await runMicroBench({ quick });
if (which === 'keyindex' || which === 'all') await runKeyIndexBench({ quick });
if (which === 'engine' || which === 'all') await runEngineBench({ quick, parts });
console.log(`bench finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
