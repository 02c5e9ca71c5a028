/**
 * Sans-I/O policies the Node.js layer applies: connection admission, rate limits, the memory
 * budget, and the reconnecting client's backoff and retry table. Re-exports only.
 */
export { Admission, type AdmissionLimits, type AdmissionRefusal, type OpenTicket } from './admission.js';
export { clientAddress, type TrustProxy } from './client-address.js';
export { InputRateLimiter, type RateLimits, type RateVerdict } from './rate-limit.js';
export { type MemoryHolder, MemoryBudget } from './memory-budget.js';
export { Backoff, type BackoffOptions, type ResolvedBackoffOptions, resolveBackoffOptions } from './backoff.js';
export { type DisconnectCause, isRetryable, isRetryableStatus, parseRetryAfter, retryAfterOf } from './retry.js';
