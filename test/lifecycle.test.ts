// Lifecycle rules in the engine: validation, persistence (log record, checkpoint, crash), and what a pass
// expires, aborts or leaves alone as the injected clock moves through the days.
import { describe, expect, it } from 'vitest';
import { Engine, MemoryFileSystem } from '../src/index.js';
import { DAY_MS, dueAt, transitionDue, validateLifecycle, type LifecycleConfig, type LifecycleRule } from '../src/engine/lifecycle.js';
import { ProcessFs } from './helpers/process-fs.js';
import { BucketConfigKind } from '../src/format/constants.js';
import { dueForCold } from '../src/maintenance/migration-plan.js';

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
    ['a Transition to STANDARD_IA after 0 days', { rules: [rule({ id: 'a', transitions: [{ days: 0, storageClass: 'STANDARD_IA' }] })] }, /'Days' in the Transition action must be a positive integer/],
    ['a Transition after -1 days', { rules: [rule({ id: 'a', transitions: [{ days: -1, storageClass: 'GLACIER' }] })] }, /'Days' in the Transition action must be a non-negative integer/],
    ['unknown storage class', { rules: [rule({ id: 'a', transitions: [{ days: 1, storageClass: 'TAPE' as never }] })] }, /storage class/],
    ['size range empty', { rules: [rule({ id: 'a', filter: { sizeGreaterThan: 10, sizeLessThan: 10 }, expiration: { days: 1 } })] }, /less than ObjectSizeLessThan/],
    ['abort with tag filter', { rules: [rule({ id: 'a', filter: { tags: [['k', 'v']] }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } })] }, /tag or object size/],
    ['the legacy prefix form with a tag', { rules: [rule({ id: 'a', legacyPrefix: true, filter: { prefix: 'p/', tags: [['k', 'v']] }, expiration: { days: 1 } })] }, /legacy prefix form, whose filter holds only a prefix/],
  ];
  for (const [name, config, message] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => validateLifecycle(config)).toThrow(message);
    });
  }

  // The engine API is public and the CLI passes JSON through: any value may arrive, and a wrong type must
  // never be read as something else (the string "false" as enabled, an unknown field as nothing).
  const ok = { id: 'r', enabled: true, filter: {}, expiration: { days: 1 } };
  const badShape: Array<[string, unknown, RegExp]> = [
    ['a null configuration', null, /a lifecycle configuration must be an object, not null/],
    ['rules not an array', { rules: 3 }, /"rules" is number 3/],
    ['an unknown top-level field', { rules: [ok], extra: 1 }, /a lifecycle configuration has an unknown field "extra"/],
    ['a null rule', { rules: [null] }, /rule 1 must be an object, not null/],
    ['a rule with only unknown fields', { rules: [{ foo: 1 }] }, /rule 1 has an unknown field "foo"/],
    ['a numeric id', { rules: [{ ...ok, id: 7 }] }, /"id" in rule 1 must be a string, not number 7/],
    ['a missing id', { rules: [{ enabled: true, filter: {}, expiration: { days: 1 } }] }, /rule 1 needs "id"/],
    ['enabled as the string "false"', { rules: [{ ...ok, id: 'off', enabled: 'false' }] }, /"enabled" in rule "off" must be a boolean \(true or false\), not the string "false"/],
    ['enabled as "yes"', { rules: [{ ...ok, enabled: 'yes' }] }, /"enabled" in rule "r" must be a boolean/],
    ['a missing enabled', { rules: [{ id: 'r', filter: {}, expiration: { days: 1 } }] }, /rule "r" needs "enabled"/],
    ['a missing filter', { rules: [{ id: 'r', enabled: true, expiration: { days: 1 } }] }, /rule "r" needs "filter"/],
    ['a numeric prefix', { rules: [{ ...ok, filter: { prefix: 5 } }] }, /"prefix" in the filter of rule "r" must be a string, not number 5/],
    ['a misspelt action', { rules: [{ id: 'r', enabled: true, filter: {}, expiraton: { days: 1 } }] }, /rule "r" has an unknown field "expiraton"/],
    ['days as a string', { rules: [{ ...ok, expiration: { days: '1' } }] }, /"days" in the expiration of rule "r" must be a number, not the string "1"/],
    ['a tag that is not a pair of strings', { rules: [{ ...ok, filter: { tags: [['k', 1]] } }] }, /tags\[0\] of the filter of rule "r" must be a \[key, value\] pair of strings/],
    ['transitions not an array', { rules: [{ ...ok, expiration: undefined, transitions: { days: 1, storageClass: 'GLACIER' } }] }, /"transitions" in rule "r" must be an array/],
    ['a transition without a class', { rules: [{ ...ok, expiration: undefined, transitions: [{ days: 1 }] }] }, /transitions\[0\] of rule "r" needs "storageClass"/],
    ['noncurrentDays as a string', { rules: [{ ...ok, noncurrentVersionExpiration: { noncurrentDays: '3' } }] }, /"noncurrentDays" in the noncurrentVersionExpiration of rule "r" must be a number/],
    ['an abort without days', { rules: [{ ...ok, abortIncompleteMultipartUpload: {} }] }, /abortIncompleteMultipartUpload of rule "r" needs "daysAfterInitiation"/],
    ['legacyPrefix as a string', { rules: [{ ...ok, legacyPrefix: 'yes' }] }, /"legacyPrefix" in rule "r" must be a boolean/],
    ['expiredObjectDeleteMarker as a string', { rules: [{ ...ok, expiration: { expiredObjectDeleteMarker: 'true' } }] }, /"expiredObjectDeleteMarker" in the expiration of rule "r" must be a boolean/],
  ];
  for (const [name, config, message] of badShape) {
    it(`refuses ${name}`, () => {
      expect(() => validateLifecycle(config)).toThrow(message);
      expect(() => validateLifecycle(config)).toThrow(expect.objectContaining({ code: 'SEDIMENT_INVALID_ARGUMENT' }));
    });
  }

  it('accepts every field the model has, and fields present but undefined (as the XML parser leaves them)', () => {
    validateLifecycle({
      rules: [
        { id: 'all', enabled: false, filter: { prefix: 'a/', tags: [['k', 'v']], sizeGreaterThan: 1, sizeLessThan: 10, extra: undefined }, expiration: { days: 30, dateMs: undefined }, transitions: [{ days: 1, storageClass: 'GLACIER' }], noncurrentVersionExpiration: { noncurrentDays: 3, newerNoncurrentVersions: 2 }, noncurrentVersionTransitions: [{ noncurrentDays: 1, storageClass: 'DEEP_ARCHIVE' }] },
        { id: 'mpu', enabled: true, filter: { prefix: 'up/' }, abortIncompleteMultipartUpload: { daysAfterInitiation: 2 } },
        { id: 'marker', enabled: true, filter: {}, expiration: { expiredObjectDeleteMarker: true } },
        { id: 'legacy', enabled: true, filter: { prefix: 'old/' }, legacyPrefix: true, expiration: { days: 1 } },
      ],
    });
  });

  it('takes a Transition to GLACIER_IR, GLACIER or DEEP_ARCHIVE after 0 days (as S3 does): due at the next midnight UTC', () => {
    for (const storageClass of ['GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'] as const) {
      const r = rule({ id: 'now', transitions: [{ days: 0, storageClass }], expiration: { days: 1 } });
      expect(() => validateLifecycle({ rules: [r] })).not.toThrow();
      expect(transitionDue(r, T0, Date.UTC(2026, 10, 1, 23, 59), DAY_MS)).toBeUndefined();
      expect(transitionDue(r, T0, Date.UTC(2026, 10, 2), DAY_MS)).toBe(storageClass);
    }
  });

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
    // A wrong type through the public API is refused too, not stored (and never read as "enabled").
    const disabledAsString = { rules: [{ id: 'off', enabled: 'false', filter: { prefix: '' }, expiration: { days: 1 } }] };
    await expect(e.setBucketLifecycle('logs', disabledAsString as never)).rejects.toMatchObject({ code: 'SEDIMENT_INVALID_ARGUMENT', message: expect.stringMatching(/"enabled" in rule "off"/) });
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

  it('rules stored by a build that checked less are kept but never applied: warned at open, reported by each pass, refused on read', async () => {
    const disk = new MemoryFileSystem();
    const warnings: string[] = [];
    let now = T0;
    const open = () => Engine.open({ dir: '/data', fs: disk, clock: { now: () => now }, workerThreads: 0, onWarning: (m) => warnings.push(m) });
    let e = await open();
    await e.createBucket('logs');
    await e.createBucket('fine');
    await e.putObject('logs', 'app/a.log', 'a');
    await e.putObject('fine', 'app/a.log', 'a');
    await e.setBucketLifecycle('fine', { rules: [rule({ id: 'week', expiration: { days: 7 } })] });
    // What a build before the type checks stored from the CLI's JSON: "false" (a string) as `enabled`,
    // which a truthiness test read as enabled. Written as that build wrote it: one BUCKET_CONFIG record.
    const stored = { rules: [{ id: 'off', enabled: 'false', filter: { prefix: '' }, expiration: { days: 20 }, transitions: [{ days: 1, storageClass: 'GLACIER' }] }] };
    const internals = e as unknown as { buckets: Map<string, unknown>; appendBucketConfig(b: unknown, kind: number, value: Buffer): Promise<void> };
    await internals.appendBucketConfig(internals.buckets.get('logs'), BucketConfigKind.LIFECYCLE, Buffer.from(JSON.stringify(stored)));
    await e.close();
    for (const checkpointed of [false, true]) {
      warnings.length = 0;
      now += 30 * DAY_MS;
      e = await open();
      expect(warnings.filter((w) => w.includes('bucket "logs"')), `checkpointed ${checkpointed}`).toEqual([
        'the lifecycle rules stored for bucket "logs" are not valid ("enabled" in rule "off" must be a boolean (true or false), not the string "false") and are not applied; set new rules or delete them',
      ]);
      expect(() => e.getBucketLifecycle('logs')).toThrow(expect.objectContaining({ code: 'SEDIMENT_INVALID_BUCKET_STATE', message: expect.stringMatching(/"enabled" in rule "off"/) }));
      const r = await e.runLifecycle();
      expect(r.invalidRules).toEqual([{ bucket: 'logs', problem: expect.stringMatching(/^the lifecycle rules stored for bucket "logs" are not valid/) }]);
      expect(r.bucketsWithRules).toBe(1);
      expect(r.expired).toEqual([{ bucket: 'fine', key: 'app/a.log', size: 1 }]);
      expect(e.listObjects('logs').contents.map((c) => c.key)).toEqual(checkpointed ? ['app/a.log', 'new-false'] : ['app/a.log']);
      // Nor do they move anything to the cold tier (read as enabled, the transition would be due).
      await e.putObject('logs', `new-${checkpointed}`, 'n');
      expect((await dueForCold(e.coldAccess(), now + 2 * DAY_MS)).filter((o) => o.bucket === 'logs')).toEqual([]);
      if (!checkpointed) await e.checkpoint();
      await e.putObject('fine', 'app/a.log', 'a');
      await e.close();
    }
    // New rules replace them; deleting them works too.
    e = await open();
    const good: LifecycleConfig = { rules: [rule({ id: 'off', enabled: false, filter: { prefix: '' }, expiration: { days: 1 } })] };
    await e.setBucketLifecycle('logs', good);
    expect(e.getBucketLifecycle('logs')).toEqual(good);
    expect((await e.runLifecycle()).invalidRules).toEqual([]);
    await e.setBucketLifecycle('logs', undefined);
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

  it('never expires a version written while the pass runs', async () => {
    const w = world();
    const e = await w.open();
    await e.createBucket('race');
    await e.setBucketLifecycle('race', { rules: [rule({ id: 'r', expiration: { days: 1 } })] });
    const keys = Array.from({ length: 200 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => e.putObject('race', k, 'old')));
    w.advanceDays(3);
    const pass = e.runLifecycle();
    const rewritten = keys.filter((_, i) => i % 4 === 0);
    await Promise.all(rewritten.map((k) => e.putObject('race', k, 'new')));
    const r = await pass;
    for (const k of rewritten) expect((await e.headObject('race', k)).size, k).toBe(3);
    const left = e.listObjects('race').contents.map((c) => c.key);
    expect(left).toEqual(rewritten);
    const expired = new Set(r.expired.map((x) => x.key));
    for (const k of keys.filter((_, i) => i % 4 !== 0)) expect(expired.has(k), k).toBe(true);
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
