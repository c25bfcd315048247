// Put/Get/DeleteBucketLifecycleConfiguration through @aws-sdk/client-s3 and raw XML: round trips, S3's
// errors for malformed and contradictory rules (and nothing changed by them), and expiry through S3.
import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  CreateBucketCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lifecycleXml, parseLifecycleXml } from '../src/s3/lifecycle-xml.js';
import { signedRequest } from './helpers/s3-raw.js';
import { startHarness, type S3Harness } from './helpers/s3-server.js';
import { DAY_MS } from '../src/engine/lifecycle.js';

let h: S3Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.client().send(new CreateBucketCommand({ Bucket: 'life' }));
});
afterAll(async () => {
  await h?.close();
});

describe('bucket lifecycle over S3', () => {
  it('answers NoSuchLifecycleConfiguration before any is set', async () => {
    await expect(h.client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'life' }))).rejects.toMatchObject({ name: 'NoSuchLifecycleConfiguration', $metadata: { httpStatusCode: 404 } });
  });

  it('round-trips rules with every filter form and action', async () => {
    const rules: LifecycleRule[] = [
      { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 7 }, Transitions: [{ Days: 1, StorageClass: 'GLACIER' }] },
      { ID: 'tmp', Status: 'Enabled', Filter: { Tag: { Key: 'kind', Value: 'tmp' } }, Expiration: { Days: 1 } },
      { ID: 'and', Status: 'Disabled', Filter: { And: { Prefix: 'a/', Tags: [{ Key: 'x', Value: '1' }], ObjectSizeGreaterThan: 10, ObjectSizeLessThan: 1000 } }, Expiration: { Date: new Date('2027-01-01T00:00:00Z') } },
      { ID: 'mpu', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } },
    ];
    await h.client().send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'life', LifecycleConfiguration: { Rules: rules } }));
    const got = await h.client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'life' }));
    expect(got.Rules).toEqual(rules);
  });

  it('refuses malformed and contradictory configurations and keeps the one in force', async () => {
    const before = h.engine.getBucketLifecycle('life');
    const cases: Array<[string, string]> = [
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Maybe</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>x</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Bogus/></Rule></LifecycleConfiguration>', 'MalformedXML'],
      ['<LifecycleConfiguration></LifecycleConfiguration>', 'MalformedXML'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 'MalformedXML'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Transition><Days>9</Days><StorageClass>GLACIER</StorageClass></Transition><Expiration><Days>5</Days></Expiration></Rule></LifecycleConfiguration>', 'InvalidArgument'],
      ['<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>TAPE</StorageClass></Transition></Rule></LifecycleConfiguration>', 'InvalidArgument'],
    ];
    for (const [xml, code] of cases) {
      const res = await rawPut(xml);
      expect(res.body, xml).toContain(`<Code>${code}</Code>`);
      expect(res.status, xml).toBe(400);
    }
    expect(h.engine.getBucketLifecycle('life')).toEqual(before);
  });

  it('a rule written with the legacy top-level Prefix reads back in that form (the old GetBucketLifecycle API reads only it)', async () => {
    const xml = '<LifecycleConfiguration><Rule><ID>old</ID><Prefix>legacy/</Prefix><Status>Enabled</Status><Expiration><Days>5</Days></Expiration></Rule></LifecycleConfiguration>';
    expect((await rawPut(xml)).status).toBe(200);
    const got = await h.client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'life' }));
    expect(got.Rules).toEqual([{ ID: 'old', Prefix: 'legacy/', Status: 'Enabled', Expiration: { Days: 5 } }]);
    expect(h.engine.getBucketLifecycle('life')?.rules[0]).toMatchObject({ filter: { prefix: 'legacy/' }, legacyPrefix: true });
  });

  it('deletes the configuration (204) and expires objects on a lifecycle pass', async () => {
    await h.client().send(new DeleteBucketLifecycleCommand({ Bucket: 'life' }));
    await expect(h.client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'life' }))).rejects.toMatchObject({ name: 'NoSuchLifecycleConfiguration' });
    await h.client().send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'life', LifecycleConfiguration: { Rules: [{ ID: 'd1', Status: 'Enabled', Filter: { Prefix: 'x/' }, Expiration: { Days: 1 } }] } }));
    await h.client().send(new PutObjectCommand({ Bucket: 'life', Key: 'x/old', Body: 'old' }));
    await h.client().send(new PutObjectCommand({ Bucket: 'life', Key: 'y/kept', Body: 'kept' }));
    const report = await h.engine.runLifecycle({ asOfMs: Date.now() + 2 * DAY_MS });
    expect(report.expired.map((x) => x.key)).toEqual(['x/old']);
    expect(h.engine.listObjects('life').contents.map((c) => c.key)).toEqual(['y/kept']);
  });
});

/** A signed PUT ?lifecycle with an arbitrary body (the SDK would refuse to send some of these). */
function rawPut(xml: string): Promise<{ status: number; body: string }> {
  return signedRequest({ method: 'PUT', path: '/life?lifecycle', port: h.port, body: xml, headers: { 'content-md5': createHash('md5').update(xml).digest('base64') } }).then((r) => ({
    status: r.status,
    body: r.body.toString(),
  }));
}

describe('lifecycle XML', () => {
  it('keeps the legacy top-level Prefix form: it is rendered back as it was written, not as a Filter', () => {
    const c = parseLifecycleXml('<LifecycleConfiguration><Rule><ID>r</ID><Prefix>p/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>');
    expect(c).toEqual({ rules: [{ id: 'r', enabled: true, filter: { prefix: 'p/' }, legacyPrefix: true, expiration: { days: 3, dateMs: undefined, expiredObjectDeleteMarker: undefined } }] });
    expect(lifecycleXml(c)).toContain('<Rule><ID>r</ID><Prefix>p/</Prefix><Status>Enabled</Status>');
    expect(lifecycleXml(c)).not.toContain('<Filter>');
    expect(parseLifecycleXml(lifecycleXml(c))).toEqual(c);
    // An empty legacy prefix (every object) stays an empty <Prefix>, and the Filter form stays a Filter.
    const empty = parseLifecycleXml('<LifecycleConfiguration><Rule><ID>e</ID><Prefix></Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>');
    expect(lifecycleXml(empty)).toMatch(/<ID>e<\/ID><Prefix(\/>|><\/Prefix>)<Status>/);
    const filter = parseLifecycleXml('<LifecycleConfiguration><Rule><ID>f</ID><Filter><Prefix>p/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>');
    expect(filter.rules[0]!.legacyPrefix).toBeUndefined();
    expect(lifecycleXml(filter)).toContain('<Filter><Prefix>p/</Prefix></Filter>');
  });

  it('reads <Date> strictly: a day the calendar lacks is MalformedXML, not the next month; no zone is UTC', () => {
    const doc = (d: string) => `<LifecycleConfiguration><Rule><ID>d</ID><Filter/><Status>Enabled</Status><Expiration><Date>${d}</Date></Expiration></Rule></LifecycleConfiguration>`;
    for (const bad of ['2027-02-31T00:00:00Z', '2027-13-01', '1', '2027-01-01T24:00:00Z', 'soon']) {
      expect(() => parseLifecycleXml(doc(bad)), bad).toThrow(/ISO 8601/);
    }
    const at = Date.UTC(2027, 0, 1);
    for (const good of ['2027-01-01', '2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z', '2027-01-01T00:00:00', '2027-01-01T01:00:00+01:00']) {
      expect(parseLifecycleXml(doc(good)).rules[0]!.expiration!.dateMs, good).toBe(at);
    }
  });

  it('gives a rule without <ID> a unique one, as S3 does; an explicit ID is kept', () => {
    const rule = (id: string) => `<Rule>${id}<Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>`;
    const c = parseLifecycleXml(`<LifecycleConfiguration>${rule('')}${rule('')}${rule('<ID>mine</ID>')}</LifecycleConfiguration>`);
    const ids = c.rules.map((r) => r.id);
    expect(ids[2]).toBe('mine');
    expect(ids[0]).toMatch(/^[A-Za-z0-9+/]{20,}$/);
    expect(new Set(ids).size).toBe(3);
    // The ids stay what they are once stored: rendering and parsing again gives the same configuration.
    expect(parseLifecycleXml(lifecycleXml(c))).toEqual(c);
  });
});
