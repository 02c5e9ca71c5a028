/**
 * Sans-I/O publish/subscribe: topic names, the topic registry, the envelope messages travel in
 * between processes, and the backplane contract with an in-process hub. Re-exports only.
 */
export { type Backplane, type BackplaneSink, InProcessHub } from './backplane.js';
export { decodeEnvelope, encodeEnvelope, type Envelope, GapDetector, SequenceCounter } from './envelope.js';
export { type AddResult, type RemoveResult, TopicRegistry } from './topic-registry.js';
export { channelOf, checkTopic, isUserKey, keyOfChannel, userKey } from './topics.js';
