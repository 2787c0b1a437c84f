// flow-relay.test.mjs — (b) the whole flow with relay.policy=always: media goes through the
// server's relay; the seller's media stops for a while (the seller page restarts ICE and the video
// resumes in the same session); the buyer runs out of credits (low-balance warning, then
// insufficient_credits).

import { test } from 'node:test';
import { wholeFlow } from './lib/flow.mjs';

test('whole flow through the relay, until the balance runs out', async () => {
  await wholeFlow({ label: 'relay', sets: ['relay.policy=always'], price: 3, credits: 12,
                    endBy: 'balance', expectPath: 'relay', sellerRestart: true });
});
