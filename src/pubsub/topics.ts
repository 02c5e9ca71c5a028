/**
 * Topic names and the keys they are registered under. A user-chosen topic is any non-empty
 * string of at most `maxLength` UTF-16 code units without a NUL character; a user's own topic
 * (for direct messages, `sendToUser`) is registered under a key that starts with NUL, so no
 * user-chosen topic can collide with it. Backplane channels are the keys with a prefix and a
 * kind (`topic:` or `user:`). Pure functions: no state, no I/O.
 */
import { ErrorCode, WebSocketError } from '../core/index.js';

/**
 * Check a topic name given by the application.
 *
 * @returns the topic, unchanged
 * @throws {WebSocketError} `WS_ERR_INVALID_ARGUMENT` for anything but a non-empty string of at most `maxLength` characters without NUL
 */
export function checkTopic(topic: unknown, maxLength: number): string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > maxLength) {
    throw new WebSocketError(ErrorCode.InvalidArgument, `a topic must be a non-empty string of at most ${maxLength} characters`);
  }
  if (topic.includes('\0')) throw new WebSocketError(ErrorCode.InvalidArgument, 'a topic must not contain a NUL character');
  return topic;
}

/** The registry key of user `id`'s own topic. */
export function userKey(id: string): string {
  return `\0${id}`;
}

/** Whether `key` is a user's own topic. */
export function isUserKey(key: string): boolean {
  return key.charCodeAt(0) === 0;
}

/** The backplane channel of a registry key. */
export function channelOf(prefix: string, key: string): string {
  return isUserKey(key) ? `${prefix}user:${key.slice(1)}` : `${prefix}topic:${key}`;
}

/** The registry key of a backplane channel, or null when the channel is not one of ours. */
export function keyOfChannel(prefix: string, channel: string): string | null {
  if (!channel.startsWith(prefix)) return null;
  const rest = channel.slice(prefix.length);
  if (rest.startsWith('topic:')) return rest.length > 6 ? rest.slice(6) : null;
  if (rest.startsWith('user:')) return rest.length > 5 ? userKey(rest.slice(5)) : null;
  return null;
}
