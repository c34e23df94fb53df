// What every Node reference script here needs: the check that the pinned packages are the ones installed, a
// seeded generator, and float32 .npy reading and writing.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const HERE = __dirname;

// The TF.js packages every script runs on; a script adds the others it uses.
const TFJS = '4.22.0';
const TFJS_PINNED = { '@tensorflow/tfjs': TFJS, '@tensorflow/tfjs-core': TFJS, '@tensorflow/tfjs-backend-cpu': TFJS,
                      '@tensorflow/tfjs-layers': TFJS };

// Read node_modules/<name>/package.json directly: some packages (nsfwjs) do not export ./package.json.
function pkgVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
}

// Refuse to run with anything but the pinned versions: a reference is only meaningful for them. Returns the
// pins (name -> version), so a script can name the versions it ran on.
function checkPinned(extra = {}) {
  const pinned = { ...TFJS_PINNED, ...extra };
  for (const [name, want] of Object.entries(pinned)) {
    const got = pkgVersion(name);
    if (got !== want) throw new Error(`${name} is ${got}, expected ${want} (run npm ci)`);
  }
  return pinned;
}

// The .npy and weight files are written from the host's float32 bytes, and both formats are little-endian.
function checkLittleEndian() {
  if (os.endianness() !== 'LE') throw new Error('the .npy and weight writers assume a little-endian host');
}

// mulberry32: a small, fully specified 32-bit generator, so the fixtures do not depend on TF.js's RNG.
// Returns a function giving the next value in [0, 1).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// float32 .npy, v1.0, '<f4', C order. data: a Float32Array (written as it is) or any array of numbers.
function writeNpyF32(file, data, shape) {
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${file}: data does not match shape`);
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = 10;                               // magic(6) + version(2) + header_len(2)
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header + ' '.repeat(total - pre - header.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  const body = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY' || buf[6] !== 1 || buf[7] !== 0) throw new Error(`${file}: not npy v1.0`);
  const hlen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False")) throw new Error(`${file}: bad header ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map(s => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.subarray(10 + hlen);
  const data = new Float32Array(bytes.length / 4);
  Buffer.from(data.buffer).set(bytes);          // copy: the file offset need not be 4-aligned in memory
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`${file}: size does not match shape`);
  return { shape, data };
}

module.exports = { checkPinned, checkLittleEndian, mulberry32, writeNpyF32, readNpyF32 };
