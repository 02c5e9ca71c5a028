/**
 * `rfc6455/redis`: the Redis backplane, a separate package entry so that the main entry keeps
 * zero runtime dependencies. It needs the `redis` package (node-redis, v4 to v6) installed next
 * to rfc6455. Re-exports only.
 */
export { createRedisBackplane, type RedisBackplaneOptions, type RedisClientLike, type RedisConnection } from './redis-backplane.js';
