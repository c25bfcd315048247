// Lifecycle rules in the engine: validation, persistence (log record, checkpoint, crash), and what a pass
// expires, aborts or leaves alone as the injected clock moves through the days.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { DAY_MS, dueAt, validateLifecycle, type LifecycleConfig, type LifecycleRule } from '../src/engine/lifecycle.js';
import { ProcessFs } from './helpers/process-fs.js';

const T0 = Date.UTC(2026, 10, 1, 10, 30); // 2026-11-01 10:30 UTC

function world() {
  const disk = new MemoryFileSystem();
  let now = T0;
  let view: ProcessFs | undefined;
  return {
    clock: { now: () => now },
    advanceDays(d: number) {
      now += d * DAY_MS;
    },
    async open(): Promise<Engine> {
      view = new ProcessFs(disk);
      return Engine.open({ dir: '/data', fs: view, clock: { now: () => now }, workerThreads: 0, onWarning: () => undefined });
    },
    crash(): void {
      view?.kill();
      disk.crash();
    },
  };
}

const rule = (r: Partial<LifecycleRule> & { id: string }): LifecycleRule => ({ enabled: true, filter: {}, ...r });

describe('lifecycle rules: validation', () => {
  const bad: Array<[string, LifecycleConfig, RegExp]> = [
    ['no rules', { rules: [] }, /at least one rule/],
    ['duplicate ids', { rules: [rule({ id: 'a', expiration: { days: 1 } }), rule({ id: 'a', expiration: { days: 2 } })] }, /unique/],
    ['no action', { rules: [rule({ id: 'a' })] }, /no action/],
    ['zero days', { rules: [rule({ id: 'a', expiration: { days: 0 } })] }, /positive integer/],
    ['days and date', { rules: [rule({ id: 'a', expiration: { days: 3, dateMs: Date.UTC(2027, 0, 1) } })] }, /exactly one of Days or Date/],
    ['date not midnight', { rules: [rule({ id: 'a', expiration: { dateMs: Date.UTC(2027, 0, 1, 5) } })] }, /midnight UTC/],
    ['transition after expiration', { rules: [rule({ id: 'a', expiration: { days: 7 }, transitions: [{ days: 7, storageClass: 'GLACIER' }] })] }, /greater than 'Days' in its Transition/],
    ['unknown storage class', { rules: [rule({ id: 'a', transitions: [{ days: 1, storageClass: 'TAPE' as never }] })] }, /storage class/],
    ['size range empty', { rules: [rule({ id: 'a', filter: { sizeGreaterThan: 10, sizeLessThan: 10 }, expiration: { days: 1 } })] }, /less than ObjectSizeLessThan/],
    ['abort with tag filter', { rules: [rule({ id: 'a', filter: { tags: [['k', 'v']] }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } })] }, /tag or object size/],
  ];
  for (const [name, config, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => validateLifecycle(config)).toThrow(message);
    });
  }

  it('rounds "after N days" up to the next midnight UTC, and not with a test day length', () => {
    expect(dueAt({ days: 1 }, T0, DAY_MS)).toBe(Date.UTC(2026, 10, 3));
    expect(dueAt({ days: 1 }, Date.UTC(2026, 10, 1), DAY_MS)).toBe(Date.UTC(2026, 10, 2));
    expect(dueAt({ days: 3 }, T0, 10_000)).toBe(T0 + 30_000);
    expect(dueAt({ dateMs: Date.UTC(2027, 0, 1) }, T0, DAY_MS)).toBe(Date.UTC(2027, 0, 1));
  });
});

describe('lifecycle rules in the engine', () => {
  it('are durable, survive checkpoint and crash, and leave a bad configuration unapplied', async () => {
    const w = world();
    let e = await w.open();
    await e.createBucket('logs');
    expect(() => e.getBucketLifecycle('logs')).toThrow(expect.objectContaining({ code: 'SEDIMENT_NO_SUCH_LIFECYCLE' }));
    const config: LifecycleConfig = { rules: [rule({ id: 'week', filter: { prefix: 'app/' }, expiration: { days: 7 } })] };
    await e.setBucketLifecycle('logs', config);
    await expect(e.setBucketLifecycle('logs', { rules: [rule({ id: 'x' })] })).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT' });
    await expect(e.setBucketLifecycle('nope', config)).rejects.toMatchObject({ code: 'SEDIMENT_NO_SUCH_BUCKET' });
    expect(e.getBucketLifecycle('logs')).toEqual(config);
    w.crash(); // replay from the log
    e = await w.open();
    expect(e.getBucketLifecycle('logs')).toEqual(config);
    await e.checkpoint(); // then from the checkpoint (version 2, with its configuration section)
    await e.close();
    e = await w.open();
    expect(e.getBucketLifecycle('logs')).toEqual(config);
    await e.setBucketLifecycle('logs', undefined);
    w.crash();
    e = await w.open();
    expect(() => e.getBucketLifecycle('logs')).toThrow(expect.objectContaining({ code: 'SEDIMENT_NO_SUCH_LIFECYCLE' }));
    // A bucket deleted and created again does not inherit the old bucket's rules.
    await e.setBucketLifecycle('logs', config);
    await e.deleteBucket('logs');
    await e.createBucket('logs');
    w.crash();
    e = await w.open();
    expect(() => e.getBucketLifecycle('logs')).toThrow(expect.objectContaining({ code: 'SEDIMENT_NO_SUCH_LIFECYCLE' }));
    await e.close();
  });

  it('expires by prefix, size and tag on the right day; dry runs change nothing; overwrites restart the clock', async () => {
    const w = world();
    let e = await w.open();
    await e.createBucket('logs');
    await e.setBucketLifecycle('logs', {
      rules: [
        rule({ id: 'app', filter: { prefix: 'app/' }, expiration: { days: 7 } }),
        rule({ id: 'big', filter: { sizeGreaterThan: 100 }, expiration: { days: 30 } }),
        rule({ id: 'tmp', filter: { tags: [['kind', 'tmp']] }, expiration: { days: 1 } }),
        rule({ id: 'off', enabled: false, filter: { prefix: 'keep/' }, expiration: { days: 1 } }),
        rule({ id: 'cold', filter: { prefix: 'cold/' }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }),
      ],
    });
    await e.putObject('logs', 'app/a.log', 'a');
    await e.putObject('logs', 'app/b.log', 'b');
    await e.putObject('logs', 'keep/c.log', 'c');
    await e.putObject('logs', 'other/big.bin', Buffer.alloc(1000, 1));
    await e.putObject('logs', 'other/small.bin', Buffer.alloc(10, 1));
    await e.putObject('logs', 'other/tagged', 'x', { tags: { kind: 'tmp' } });
    await e.putObject('logs', 'cold/x', 'x');
    const keys = () => e.listObjects('logs').contents.map((c) => c.key);

    w.advanceDays(1); // 2026-11-02 10:30: the tag rule's day-1 midnight (11-03) is not reached yet
    expect((await e.runLifecycle()).expired).toEqual([]);
    w.advanceDays(1); // 11-03 10:30
    const dry = await e.runLifecycle({ dryRun: true });
    expect(dry.expired.map((x) => x.key)).toEqual(['other/tagged']);
    expect(keys()).toContain('other/tagged');
    const r1 = await e.runLifecycle();
    expect(r1.expired).toEqual([{ bucket: 'logs', key: 'other/tagged', size: 1 }]);
    expect(r1.transitionsDue).toBe(1); // cold/x: due, reported, not moved (no cold tier yet)
    expect(keys()).not.toContain('other/tagged');

    w.advanceDays(3); // 11-06: app/b.log is rewritten, so its 7 days start again
    await e.putObject('logs', 'app/b.log', 'b2');
    w.advanceDays(3); // 11-09 10:30: app/a.log due (11-01 10:30 + 7 days, rounded up: 11-09 00:00), app/b.log not (11-14)
    expect((await e.runLifecycle()).expired.map((x) => x.key)).toEqual(['app/a.log']);
    // As-of runs look ahead without moving the clock.
    const ahead = await e.runLifecycle({ asOfMs: Date.UTC(2026, 11, 2), dryRun: true });
    expect(ahead.expired.map((x) => x.key).sort()).toEqual(['app/b.log', 'other/big.bin']);
    w.crash();
    e = await w.open();
    expect(keys().sort()).toEqual(['app/b.log', 'cold/x', 'keep/c.log', 'other/big.bin', 'other/small.bin']);
    await e.close();
  });

  it('aborts incomplete multipart uploads after DaysAfterInitiation, by prefix', async () => {
    const w = world();
    const e = await w.open();
    await e.createBucket('bkt');
    await e.setBucketLifecycle('bkt', { rules: [rule({ id: 'mpu', filter: { prefix: 'up/' }, abortIncompleteMultipartUpload: { daysAfterInitiation: 2 } })] });
    const a = await e.createMultipartUpload('bkt', 'up/a');
    const b = await e.createMultipartUpload('bkt', 'down/b');
    await e.uploadPart('bkt', 'up/a', a.uploadId, 1, 'part');
    w.advanceDays(2);
    expect((await e.runLifecycle()).abortedUploads).toEqual([]); // due at midnight after day 2
    w.advanceDays(1);
    expect((await e.runLifecycle()).abortedUploads).toEqual([{ bucket: 'bkt', key: 'up/a', uploadId: a.uploadId }]);
    expect(e.listMultipartUploads('bkt').map((u) => u.key)).toEqual(['down/b']);
    expect(b.uploadId).not.toBe(a.uploadId);
    await e.close();
  });

  it('with a test day length, days last that long', async () => {
    const w = world();
    const e = await w.open();
    await e.createBucket('fast');
    await e.setBucketLifecycle('fast', { rules: [rule({ id: 'r', expiration: { days: 2 } })] });
    await e.putObject('fast', 'k', 'v');
    expect((await e.runLifecycle({ asOfMs: T0 + 19_999, dayMs: 10_000 })).expired).toEqual([]);
    expect((await e.runLifecycle({ asOfMs: T0 + 20_000, dayMs: 10_000 })).expired.map((x) => x.key)).toEqual(['k']);
    await e.close();
  });
});
