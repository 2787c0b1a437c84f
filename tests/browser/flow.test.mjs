// flow.test.mjs — (a) the whole flow with the default path policy (P2P first on loopback).

import { test } from 'node:test';
import { wholeFlow } from './lib/flow.mjs';

test('whole flow: register, consent, go live, map, profile, watch, pay, end, rate, ban', async () => {
  await wholeFlow({ label: 'auto', price: 3, credits: 50, endBy: 'button' });
});
