// flow.test.mjs — (a) the whole flow with the default path policy (P2P first on loopback).

import { test } from 'node:test';
import { wholeFlow } from './lib/flow.mjs';

test('whole flow: register, consent, go live, map, profile, watch, pay, end, rate, ban', async () => {
  // 12 credits at 3/min: after the third minute less than two minutes remain (warning), then End.
  await wholeFlow({ label: 'auto', price: 3, credits: 12, endBy: 'button', expectLow: true });
});
