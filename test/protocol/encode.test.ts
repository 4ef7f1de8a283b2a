/**
 * The in-place writers a connection encodes its records with, into a slab that is reused (old
 * bytes around and under them): every byte of the record is written, none outside it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeEndRequest, encodeHeader, paddingFor, writeEndRequest, writeHeader } from '../../src/protocol/encode';
import { ProtocolStatus, RecordType } from '../../src/protocol/constants';

/** dirty: a slab full of old bytes. */
const dirty = (n: number): Buffer => Buffer.alloc(n, 0xee);

describe('encode (in place)', () => {
  it('writeEndRequest writes its 16 bytes at the offset, the reserved bytes zeroed, and nothing around them', () => {
    for (const offset of [0, 8, 13, 24]) {
      const slab = dirty(offset + 16 + 8);
      writeEndRequest(slab, offset, 0x1234, 0x89abcdef, ProtocolStatus.Overloaded);
      assert.deepEqual(slab.subarray(offset, offset + 16), Buffer.from('0103123400080000' + '89abcdef' + '02000000', 'hex'), `at ${offset}`);
      assert.deepEqual(slab.subarray(0, offset), dirty(offset), `before ${offset}`);
      assert.deepEqual(slab.subarray(offset + 16), dirty(8), `after ${offset}`);
    }
    assert.deepEqual(encodeEndRequest(1, 0, ProtocolStatus.RequestComplete), Buffer.from('0103000100080000' + '00000000' + '00000000', 'hex'));
  });

  it('writeHeader writes its 8 bytes at the offset, the reserved byte zeroed, and nothing around them', () => {
    const slab = dirty(32);
    writeHeader(slab, 8, RecordType.Stdout, 0xfffe, 0xfff8, 7);
    assert.deepEqual(slab.subarray(8, 16), Buffer.from('0106fffefff80700', 'hex'));
    assert.deepEqual(Buffer.concat([slab.subarray(0, 8), slab.subarray(16)]), dirty(24));
    // encodeHeader (lint's malformed records): a header alone, padding 0 unless given.
    assert.deepEqual(encodeHeader(RecordType.Stdin, 1, 0xffff), Buffer.from('01050001ffff0000', 'hex'));
    assert.deepEqual(encodeHeader(RecordType.BeginRequest, 1, 3, 5), Buffer.from('0101000100030500', 'hex'));
  });

  it('paddingFor brings every length to a multiple of 8', () => {
    for (let n = 0; n < 20; n++) assert.equal(paddingFor(n), (8 - (n % 8)) % 8, `${n}`);
    assert.equal(paddingFor(65535), 1);
  });
});
