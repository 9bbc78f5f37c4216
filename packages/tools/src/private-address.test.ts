import { describe, expect, it } from 'vitest';
import { createAddressFilter, isPrivateAddress } from './private-address.js';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a00:1',
    '2002:c0a8:0101::1',
    '[::1]',
    'not-an-address',
  ])('%s is not public', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );
});

describe('createAddressFilter', () => {
  it('allows public addresses plus exactly what is listed', () => {
    const allowed = createAddressFilter(['127.0.0.1', '10.0.0.0/8']);
    expect(allowed('127.0.0.1')).toBe(true);
    expect(allowed('::ffff:127.0.0.1')).toBe(true);
    expect(allowed('127.0.0.2')).toBe(false);
    expect(allowed('10.200.0.1')).toBe(true);
    expect(allowed('192.168.0.1')).toBe(false);
    expect(allowed('8.8.8.8')).toBe(true);
    expect(createAddressFilter(false)('127.0.0.1')).toBe(false);
    expect(createAddressFilter(true)('169.254.169.254')).toBe(true);
    expect(() => createAddressFilter(['localhost'])).toThrow(
      '"localhost" is not an IP address or CIDR range.',
    );
  });
});
