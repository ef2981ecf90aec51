/** Baseline: a handler that allows without verifying anything; measures Node and the driver alone. */
import { allowPolicy, type PeerEvent } from './common.js';

export const handler = async (event: PeerEvent) => allowPolicy('baseline', event.methodArn);
