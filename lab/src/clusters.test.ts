import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { removeWireGuardSockets } from "./clusters.ts";

it("lab down removes its nodes' wireguard-go control sockets, the active-active planes' too, and no other lab's", () => {
  const dir = mkdtempSync(join(tmpdir(), "cw-wgsock-"));
  try {
    for (const f of ["cwaac1n0.sock", "cwaac1n0-1.sock", "cwaac2n1-15.sock", "cwaabc1n0.sock", "cwaac1n0-1.sock.bak", "causeway-wg.sock"])
      writeFileSync(join(dir, f), "");
    removeWireGuardSockets("cwaa", dir);
    assert.deepEqual(readdirSync(dir).sort(), ["causeway-wg.sock", "cwaabc1n0.sock", "cwaac1n0-1.sock.bak"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
