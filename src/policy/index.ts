/**
 * Sans-I/O policies the Node.js layer applies: connection admission, rate limits and
 * pacing, the server-wide memory budget. Re-exports only.
 */
export { Admission, type AddressLoad, type AdmissionLimits, type AdmissionRefusal, type OpenTicket, topN } from './admission.js';
export { clientAddress, type TrustProxy } from './client-address.js';
export { InputRateLimiter, PacingBucket, type RateLimits, type RateVerdict } from './rate-limit.js';
export { type MemoryHolder, MemoryBudget } from './memory-budget.js';
