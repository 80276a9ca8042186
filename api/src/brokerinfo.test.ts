import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeBrokerInfo, encodeBrokerInfo, ValidationError } from "./index.ts";

const info = {
  brokerURL: "198.18.0.2:7400",
  ca: "",
  adminToken: "cwa.abcdefghijklmnopqrstuvwxyz012345",
  components: ["connectivity" as const],
  cableSecret: "c2VjcmV0",
};

describe("broker-info", () => {
  it("broker-info: base64url JSON with padding, round trip; keys read case-insensitively like subctl's Go decoder", () => {
    const text = encodeBrokerInfo(info);
    assert.match(text.trim(), /^[A-Za-z0-9_-]+={0,2}$/);
    assert.deepEqual(decodeBrokerInfo(text), info);
    const shouty = Buffer.from(JSON.stringify({ BROKERURL: info.brokerURL, AdminToken: info.adminToken })).toString("base64url");
    assert.equal(decodeBrokerInfo(shouty).brokerURL, info.brokerURL);
  });

  it("broker-info: corrupt inputs are refused naming the problem", () => {
    assert.throws(
      () => decodeBrokerInfo("not base64 {}"),
      (e) => e instanceof ValidationError && /corrupt: not base64url/.test(e.message),
    );
    assert.throws(() => decodeBrokerInfo(Buffer.from("{nope").toString("base64url")), /corrupt: its content is not JSON/);
    assert.throws(
      () => decodeBrokerInfo(Buffer.from(JSON.stringify({ brokerURL: "x", adminToken: "secret" })).toString("base64url")),
      /adminToken: must be a Causeway admin token/,
    );
  });
});
