import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "@causeway/api";
import { parseResolvers, resolvePublicIp } from "./publicip.ts";

describe("public IP resolvers", () => {
  it("parses ipv4:, dns: and api: entries; refuses anything else naming each bad entry", () => {
    assert.deepEqual(parseResolvers("ipv4:198.18.2.10, dns:gw.example.com,api:ipinfo.io/ip"), [
      { kind: "ipv4", ip: "198.18.2.10" },
      { kind: "dns", name: "gw.example.com" },
      { kind: "api", url: "https://ipinfo.io/ip" },
    ]);
    assert.deepEqual(parseResolvers(""), []);
    assert.throws(
      () => parseResolvers("ipv4:300.1.1.1,lb:svc,nonsense"),
      (e: unknown) => e instanceof ValidationError && e.issues.length === 3 && /ipv4:300\.1\.1\.1/.test(e.issues.join()),
    );
  });

  it("first success wins: dns picks the lowest address, api the first IPv4 in the answer", async () => {
    const lookup = async () => ["203.0.113.9", "203.0.113.10", "203.0.113.2"];
    const fetchText = async () => "your address is 198.51.100.7\n";
    assert.equal(await resolvePublicIp(parseResolvers("dns:gw.example.com"), { lookup }), "203.0.113.2");
    assert.equal(await resolvePublicIp(parseResolvers("api:ip.example.com/plain"), { fetchText }), "198.51.100.7");
    const failing = async () => {
      throw new Error("ENOTFOUND");
    };
    assert.equal(await resolvePublicIp(parseResolvers("dns:nowhere.invalid,ipv4:198.18.2.10"), { lookup: failing }), "198.18.2.10");
  });

  it("air-gapped: only ipv4: resolvers, no request leaves the host", async () => {
    let asked = 0;
    const spy = async () => {
      asked++;
      return ["203.0.113.1"];
    };
    assert.equal(await resolvePublicIp(parseResolvers("dns:gw.example.com,ipv4:198.18.3.10"), { airGapped: true, lookup: spy }), "198.18.3.10");
    assert.equal(await resolvePublicIp(parseResolvers("dns:gw.example.com"), { airGapped: true, lookup: spy }), "");
    assert.equal(asked, 0);
  });

  it("every resolver failing is an error naming each failure", async () => {
    await assert.rejects(
      resolvePublicIp(parseResolvers("api:ip.example.com,dns:x.invalid"), {
        fetchText: async () => "no address here",
        lookup: async () => [],
      }),
      (e: unknown) => e instanceof ValidationError && /holds no IPv4/.test(e.issues.join()) && /no IPv4 address/.test(e.issues.join()),
    );
  });
});
