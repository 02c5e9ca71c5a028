/**
 * Every default limit and timer of rfc6455, defined once, with the attack or failure each one
 * bounds. The core, the handshake and the Node.js layer read them from here; the README's option
 * tables quote them. Data only: no behaviour, no Node.js APIs.
 */

/**
 * Largest incoming message (after reassembly and decompression): 100 MiB, ws's default, so every
 * message a ws peer accepts is accepted here too. Stops one message from exhausting memory.
 */
export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/**
 * Most frames in one incoming message, empty ones included: 1,048,576. Memory is bounded by the
 * message's bytes (small fragments are coalesced), so this only bounds the work one message can
 * cause; it sits far above the 65,537 frames of Autobahn 9.3.1 / 9.4.1.
 */
export const DEFAULT_MAX_FRAGMENTS = 1_048_576;
/** Closing handshake (and the peer's TCP close) wait, in ms: 10 s. Stops a peer that never answers a close from holding the socket. */
export const DEFAULT_CLOSE_TIMEOUT = 10_000;
/** Ping after this long with nothing received, in ms; 0 turns heartbeats off. Default off. */
export const DEFAULT_HEARTBEAT_INTERVAL = 0;
/** Close (1001) after this long with nothing sent or received, in ms; 0: off. Default off. */
export const DEFAULT_IDLE_TIMEOUT = 0;
/** `send()` returns false once this many bytes wait to be written: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
/** Past this much waiting output, a peer taking none of it for the stall window is cut even with stalledOutputTimeout 0: 64 MiB. Stops a peer that never reads. */
export const DEFAULT_MAX_BUFFERED_AMOUNT = 64 * 1024 * 1024;
/** Messages an async iterator may leave unconsumed before reading pauses: 64. */
export const DEFAULT_MAX_QUEUED_MESSAGES = 64;
/** Opening handshake deadline, TLS included, in ms: 10 s. Stops slowloris (and TLS slowloris) sockets. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** Largest HTTP head of an upgrade request or response: 16 KiB. Stops header floods. */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
/** Most open connections of one server: 100,000. */
export const DEFAULT_MAX_CONNECTIONS = 100_000;
/** permessage-deflate: messages below this many bytes are sent uncompressed: 1 KiB. */
export const DEFAULT_DEFLATE_THRESHOLD = 1024;
/** permessage-deflate: zlib level 6. */
export const DEFAULT_DEFLATE_LEVEL = 6;
/** permessage-deflate: zlib memLevel 8 (256 KiB compressor hash table). */
export const DEFAULT_DEFLATE_MEM_LEVEL = 8;
/** permessage-deflate: zlib operations running at once in the whole process: 10. Bounds zlib's thread pool and memory. */
export const DEFAULT_ZLIB_CONCURRENCY = 10;
/** Open connections from one client address: 1,000. Stops one host from taking the whole server (3,000 from one address were accepted in 348 ms before). */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 1000;
/** Open connections of one authenticated user (the id `verify` returned): 100. */
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 100;
/** Opening handshakes in progress, all clients: 2,048. Silent sockets cannot hold every file descriptor. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 2048;
/** Opening handshakes in progress from one client address: 64. */
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_IP = 64;
/**
 * Input rate limits per connection (token buckets; over them the connection is closed with 1008):
 * data messages 50,000/s with a burst of 100,000; pings and pongs 1,000/s with a burst of 1,000
 * (a ping or pong flood cost about 1 µs of CPU per frame, so this bounds it to about 0.1% of a
 * core per connection); data bytes 256 MiB/s with a burst of twice `maxPayload`.
 */
export const DEFAULT_MESSAGES_PER_SECOND = 50_000;
/** See {@link DEFAULT_MESSAGES_PER_SECOND}. */
export const DEFAULT_MESSAGE_BURST = 100_000;
/** See {@link DEFAULT_MESSAGES_PER_SECOND}. */
export const DEFAULT_BYTES_PER_SECOND = 256 * 1024 * 1024;
/** See {@link DEFAULT_MESSAGES_PER_SECOND}. */
export const DEFAULT_CONTROL_FRAMES_PER_SECOND = 1000;
/** See {@link DEFAULT_MESSAGES_PER_SECOND}. */
export const DEFAULT_CONTROL_FRAME_BURST = 1000;
/**
 * Decompressed bytes per second one connection's permessage-deflate may produce, with one
 * second's worth as the burst: 64 MiB/s. Over it, inflation (and with it the connection's reading)
 * waits for the budget instead of closing. Four connections looping 71 KB bombs made the server
 * inflate 5.4 GiB in 10 s before; this bounds each to 64 MiB/s (a bomb still fails with 1009 as
 * soon as it passes `maxPayload`).
 */
export const DEFAULT_INFLATED_BYTES_PER_SECOND = 64 * 1024 * 1024;
/**
 * A frame or fragmented message left incomplete with no byte received for this long is failed
 * with 1008: 30 s. Stops peers that pin memory with messages they never finish.
 */
export const DEFAULT_STALLED_INPUT_TIMEOUT = 30_000;
/**
 * A connection whose peer has taken none of our buffered output for this long (checked once per
 * period, so the cut comes after one to two periods) is terminated: 30 s. Stops slow readers that
 * pin an echo server's output below `maxBufferedAmount`.
 */
export const DEFAULT_STALLED_OUTPUT_TIMEOUT = 30_000;
/** Longest topic name, in UTF-16 code units: 256. Keeps registry keys and backplane channel names small. */
export const DEFAULT_MAX_TOPIC_LENGTH = 256;
/** Topics one connection may subscribe to (its own user topic not counted): 256. Bounds the registry memory one connection can cause. */
export const DEFAULT_MAX_TOPICS_PER_CONNECTION = 256;
/**
 * Bytes a connection may have waiting to be written before a published message is dropped for it
 * (or, with `closeOnBackpressureLimit`, the connection closed with 1013): 1 MiB. A slow subscriber
 * costs at most this much memory and never slows the publisher or the other subscribers.
 */
export const DEFAULT_PUBLISH_BACKPRESSURE_LIMIT = 1024 * 1024;
/**
 * Reconnecting client backoff: retry n waits a random time between `minDelay` and
 * min(`maxDelay`, `minDelay` × `factor`^n) (full jitter above the floor), so clients that lost a
 * server at the same moment do not come back at the same moment: 1 s floor, 30 s ceiling, factor 2.
 */
export const DEFAULT_RECONNECT_MIN_DELAY = 1000;
/** See {@link DEFAULT_RECONNECT_MIN_DELAY}. Also the most a server's `Retry-After` can make a client wait. */
export const DEFAULT_RECONNECT_MAX_DELAY = 30_000;
/** See {@link DEFAULT_RECONNECT_MIN_DELAY}. */
export const DEFAULT_RECONNECT_FACTOR = 2;
/** A connection that stayed open this long (ms) resets the backoff to its first step: 10 s. Stops a server that accepts and drops at once from being hammered at `minDelay`. */
export const DEFAULT_RECONNECT_STABLE_AFTER = 10_000;
/** Retries in a row before giving up: unlimited (a client is meant to survive long outages). */
export const DEFAULT_RECONNECT_MAX_RETRIES = Number.POSITIVE_INFINITY;
/** Heartbeat of the reconnecting client, in ms: 30 s. A half-open connection (no FIN, no RST: a NAT or a phone that changed networks) is found within two intervals, then replaced. */
export const DEFAULT_RECONNECT_HEARTBEAT_INTERVAL = 30_000;
/** Messages the reconnecting client holds while offline: 1,000. Bounds memory during a long outage. */
export const DEFAULT_SEND_QUEUE_MESSAGES = 1000;
/** Bytes the reconnecting client holds while offline: 1 MiB (the same as `highWaterMark`). */
export const DEFAULT_SEND_QUEUE_BYTES = 1024 * 1024;
/** `rfc6455 serve`: the port it listens on by default (0 picks a free one). */
export const DEFAULT_SERVE_PORT = 8080;
/** `rfc6455 serve`: the address it listens on by default: loopback only, so a test server is not exposed to the network by accident. */
export const DEFAULT_SERVE_HOST = '127.0.0.1';
