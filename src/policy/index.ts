/**
 * Sans-I/O policies the Node.js layer applies: connection admission (and, later, rate limits and
 * reconnection backoff). Re-exports only.
 */
export { Admission, type AdmissionLimits, type AdmissionRefusal, type OpenTicket } from './admission.js';
export { clientAddress, type TrustProxy } from './client-address.js';
export { InputRateLimiter, type RateLimits, type RateVerdict } from './rate-limit.js';
export { type MemoryHolder, MemoryBudget } from './memory-budget.js';
