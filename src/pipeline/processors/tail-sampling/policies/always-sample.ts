import type { PolicyEvaluator } from './policy.js';

export const alwaysSample: PolicyEvaluator = {
  evaluate: () => 'sampled',
};
