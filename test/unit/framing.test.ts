// NDJSON framing (contract §5): complete lines out of arbitrary chunks, with a 1 MiB cap.
import { expect, test } from "bun:test";
import { LineBuffer, MAX_LINE } from "../../src/control/framing.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("one line in one chunk", () => {
  const b = new LineBuffer();
  expect(b.push(enc('{"cmd":"status"}\n'))).toEqual(['{"cmd":"status"}']);
  expect(b.pending).toBe(0);
  expect(b.takeRest()).toBeNull();
});

test("a line split over several chunks comes out once it is complete", () => {
  const b = new LineBuffer();
  expect(b.push(enc('{"cmd":'))).toEqual([]);
  expect(b.pending).toBe(7);
  expect(b.push(enc('"sta'))).toEqual([]);
  expect(b.push(enc('tus"}\n{"cmd"'))).toEqual(['{"cmd":"status"}']);
  expect(b.pending).toBe(6);
  expect(b.push(enc(':"version"}\n'))).toEqual(['{"cmd":"version"}']);
  expect(b.pending).toBe(0);
});

test("several lines in one chunk, in order, empty lines kept", () => {
  const b = new LineBuffer();
  expect(b.push(enc("a\nb\n\nc\nd"))).toEqual(["a", "b", "", "c"]);
  expect(b.takeRest()).toBe("d");
  expect(b.takeRest()).toBeNull();
});

test("CRLF line ends lose the CR; a CR inside a line stays", () => {
  const b = new LineBuffer();
  expect(b.push(enc("a\r\nb\r"))).toEqual(["a"]);
  expect(b.push(enc("\nc\rd\n"))).toEqual(["b", "c\rd"]);
});

test("a multi-byte character split across chunks is decoded whole", () => {
  const b = new LineBuffer();
  const bytes = enc('{"name":"wéb€"}\n');
  const cut = bytes.indexOf(0xe2) + 1; // inside the 3-byte euro sign
  expect(b.push(bytes.subarray(0, cut))).toEqual([]);
  expect(b.push(bytes.subarray(cut))).toEqual(['{"name":"wéb€"}']);
});

test("chunks are copied: the caller may reuse its buffer", () => {
  const b = new LineBuffer();
  const chunk = enc("abc");
  b.push(chunk);
  chunk.fill(0x78);
  expect(b.push(enc("\n"))).toEqual(["abc"]);
});

test("the cap: a line of exactly max bytes passes, one byte more sets overflow", () => {
  const ok = new LineBuffer(10);
  expect(ok.push(enc("0123456789\n"))).toEqual(["0123456789"]);
  expect(ok.overflow).toBe(false);

  const over = new LineBuffer(10);
  expect(over.push(enc("ok\n0123456789A\nlater\n"))).toEqual(["ok"]);
  expect(over.overflow).toBe(true);
  // once overflowed, nothing more comes out
  expect(over.push(enc("x\n"))).toEqual([]);
});

test("the cap counts bytes accumulated over several chunks of an unfinished line", () => {
  const b = new LineBuffer(10);
  expect(b.push(enc("01234"))).toEqual([]);
  expect(b.push(enc("56789"))).toEqual([]);
  expect(b.overflow).toBe(false);
  expect(b.push(enc("A"))).toEqual([]);
  expect(b.overflow).toBe(true);
  expect(b.push(enc("\n"))).toEqual([]);
});

test("a real line over 1 MiB sets overflow; 1 MiB itself is fine", () => {
  expect(MAX_LINE).toBe(1024 * 1024);
  const big = new LineBuffer();
  const payload = new Uint8Array(MAX_LINE).fill(0x61);
  expect(big.push(payload)).toEqual([]);
  expect(big.overflow).toBe(false);
  expect(big.push(enc("\n"))).toEqual(["a".repeat(MAX_LINE)]);

  const over = new LineBuffer();
  over.push(payload);
  expect(over.push(enc("b"))).toEqual([]);
  expect(over.overflow).toBe(true);

  const oneChunk = new LineBuffer();
  const line = new Uint8Array(MAX_LINE + 2).fill(0x61);
  line[MAX_LINE + 1] = 10;
  expect(oneChunk.push(line)).toEqual([]);
  expect(oneChunk.overflow).toBe(true);
});

test("takeRest returns the unfinished last line once", () => {
  const b = new LineBuffer();
  b.push(enc('{"cmd":"status"}'));
  expect(b.takeRest()).toBe('{"cmd":"status"}');
  expect(b.pending).toBe(0);
  expect(b.takeRest()).toBeNull();
});
