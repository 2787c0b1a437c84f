// watch.js — the buyer's watch screen (placeholder until the session messages are final).

import { h } from './ui.js';

export function render(ctx, root, { sellerId }) {
  root.append(h('h1', {}, 'Watch'), h('p', {}, `Seller ${sellerId}`));
}
