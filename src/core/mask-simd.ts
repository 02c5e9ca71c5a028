/**
 * The WebAssembly SIMD masking kernel: XOR with the key in 128-bit lanes, four lanes per step,
 * several times faster than the 32-bit JavaScript loop from a few hundred bytes up (measured in
 * benchmarks/core.mjs). The module is embedded below as bytes (built from the text format in this
 * comment) and compiled once, on first use. A WebAssembly function can only touch its own memory,
 * so each piece of at most {@link CHUNK} bytes is copied in, masked and copied out, which still
 * beats the JavaScript loop. Where WebAssembly or its SIMD instructions are missing,
 * {@link simdMask} reports that it did nothing and the caller keeps its JavaScript path. No
 * Node.js APIs; no state but the compiled instance.
 *
 * The kernel, in WebAssembly text format:
 *
 * (module
 *   (memory (export "memory") 1)
 *   ;; mask(offset, length, key): XOR bytes [offset, offset+length) with the 4-byte key (little-endian i32),
 *   ;; 64 bytes per iteration with 128-bit lanes, then 16, then 4, then single bytes.
 *   (func (export "mask") (param $p i32) (param $n i32) (param $key i32)
 *     (local $end i32) (local $k v128)
 *     (local.set $k (i32x4.splat (local.get $key)))
 *     (local.set $end (i32.add (local.get $p) (local.get $n)))
 *     (block $done64
 *       (loop $l64
 *         (br_if $done64 (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $end)))
 *         (v128.store offset=0 (local.get $p) (v128.xor (v128.load offset=0 (local.get $p)) (local.get $k)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $k)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $k)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br $l64)))
 *     (block $done16
 *       (loop $l16
 *         (br_if $done16 (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
 *         (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br $l16)))
 *     (block $done4
 *       (loop $l4
 *         (br_if $done4 (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $end)))
 *         (i32.store (local.get $p) (i32.xor (i32.load (local.get $p)) (local.get $key)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 4)))
 *         (br $l4)))
 *     (block $done1
 *       (loop $l1
 *         (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
 *         (i32.store8 (local.get $p) (i32.xor (i32.load8_u (local.get $p)) (local.get $key)))
 *         (local.set $key (i32.rotr (local.get $key) (i32.const 8)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 1)))
 *         (br $l1))))
 * )
 */

const KERNEL = Uint8Array.of(
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01,
  0x00, 0x01, 0x07, 0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04, 0x6d, 0x61, 0x73, 0x6b, 0x00, 0x00, 0x0a, 0xea, 0x01,
  0x01, 0xe7, 0x01, 0x02, 0x01, 0x7f, 0x01, 0x7b, 0x20, 0x02, 0xfd, 0x11, 0x21, 0x04, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x03, 0x02, 0x40, 0x03,
  0x40, 0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x20, 0x03, 0x4b, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x04, 0xfd, 0x51,
  0xfd, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x10, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x10, 0x20, 0x00, 0x20, 0x00,
  0xfd, 0x00, 0x04, 0x20, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x04, 0xfd, 0x51,
  0xfd, 0x0b, 0x04, 0x30, 0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x41, 0x10,
  0x6a, 0x20, 0x03, 0x4b, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, 0x20, 0x00,
  0x41, 0x10, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x41, 0x04, 0x6a, 0x20, 0x03, 0x4b, 0x0d, 0x01, 0x20,
  0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x20, 0x02, 0x73, 0x36, 0x02, 0x00, 0x20, 0x00, 0x41, 0x04, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x02,
  0x40, 0x03, 0x40, 0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x20, 0x02, 0x73, 0x3a, 0x00, 0x00, 0x20,
  0x02, 0x41, 0x08, 0x78, 0x21, 0x02, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x0b
);

/** Bytes masked per call into the kernel: its one 64 KiB page of memory. */
export const CHUNK = 64 * 1024;

interface Kernel {
  readonly mask: (offset: number, length: number, key: number) => void;
  readonly bytes: Uint8Array;
}

/** The part of the WebAssembly JavaScript API used here (the core's `lib` has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; mask: Kernel['mask'] } };
}

let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined) return null;
  try {
    const { exports } = new wasm.Instance(new wasm.Module(KERNEL));
    return { mask: exports.mask, bytes: new Uint8Array(exports.memory.buffer, 0, CHUNK) };
  } catch {
    // No WebAssembly, or no SIMD (the module does not validate): the JavaScript path serves.
    return null;
  }
}

/** Whether the SIMD kernel can be used here (compiling it on the first call). */
export function simdAvailable(): boolean {
  if (kernel === undefined) kernel = load();
  return kernel !== null;
}

/**
 * XOR `source` with the key (starting at key index `phase`) into `target` at `targetOffset`,
 * with the SIMD kernel. Same contract as `applyMask`.
 *
 * @returns false, having done nothing, when the kernel is not available
 */
export function simdMask(source: Uint8Array, target: Uint8Array, targetOffset: number, key: Uint8Array, phase: number): boolean {
  if (kernel === undefined) kernel = load();
  if (kernel === null) return false;
  const { mask, bytes } = kernel;
  // The key as a little-endian word starting at `phase`: byte j of the word masks byte j of each
  // group of four. CHUNK is a multiple of 4, so every chunk starts at the same phase.
  const word = key[phase & 3]! | (key[(phase + 1) & 3]! << 8) | (key[(phase + 2) & 3]! << 16) | (key[(phase + 3) & 3]! << 24);
  const length = source.length;
  for (let offset = 0; offset < length; offset += CHUNK) {
    const n = Math.min(CHUNK, length - offset);
    bytes.set(n === length ? source : source.subarray(offset, offset + n), 0);
    mask(0, n, word);
    target.set(n === CHUNK ? bytes : bytes.subarray(0, n), targetOffset + offset);
  }
  return true;
}
