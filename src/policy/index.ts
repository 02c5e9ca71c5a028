/**
 * Sans-I/O policies the Node.js layer applies: connection admission, rate limits and pacing, the
 * memory budget, and the reconnecting client's backoff and retry table. Re-exports only.
 */
export { Admission, type AddressLoad, type AdmissionLimits, type AdmissionRecord, type AdmissionRefusal, admissionRecord, type OpenTicket, ticketOf, topN, userOf } from './admission.js';
export { clientAddress, type TrustProxy } from './client-address.js';
export { InputRateLimiter, PacingBucket, type RateLimits, type RateVerdict } from './rate-limit.js';
export { type MemoryHolder, MemoryBudget } from './memory-budget.js';
export { Backoff, type BackoffOptions, type ResolvedBackoffOptions, resolveBackoffOptions } from './backoff.js';
export { type DisconnectCause, isRetryable, isRetryableStatus, parseRetryAfter, retryAfterOf } from './retry.js';
